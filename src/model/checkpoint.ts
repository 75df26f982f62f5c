// Checkpoint files: nnU-Net's fields (network_weights, optimizer_state, grad_scaler_state, logging, _best_ema,
// current_epoch, init_args, trainer_name, inference_allowed_mirroring_axes) plus what exact resumption needs, under
// `nnunet_ts`: the schedule identity, the position inside an interrupted epoch and each callback's state by its key.
// PyTorch-readable `.pth`; training writes them, inference and fine-tuning read them.
import { z } from 'zod';
import { loadPth, savePth } from '../torch/serialization/pth-file.js';
import { type PyValue, pyFloat, pyOrderedDict, pyTuple } from '../torch/serialization/py-values.js';
import { Tensor, optim } from '../torch/index.js';
import type { GradScalerState } from '../training/amp/grad-scaler.js';

/** The settings that shape the LR schedule and the data a resumed run continues on. */
export type ScheduleSettings = {
  trainer: string;
  num_epochs: number;
  num_iterations_per_epoch: number;
  num_val_iterations_per_epoch: number;
  plans_identifier: string;
  configuration: string;
  fold: number | 'all';
  seed: number;
  /**
   * Ranks of the run (the global batch is split over them, so the data stream depends on it). Read as 1 from
   * checkpoints written before it existed; optional until every writer sets it.
   */
  world_size?: number;
};

export const SCHEDULE_KEYS: readonly (keyof ScheduleSettings)[] = [
  'trainer',
  'num_epochs',
  'num_iterations_per_epoch',
  'num_val_iterations_per_epoch',
  'plans_identifier',
  'configuration',
  'fold',
  'seed',
  'world_size',
];

/** The `nnunet_ts` field: everything a resume reads beyond nnU-Net's own fields. */
export interface ResumeState {
  schedule: ScheduleSettings;
  /** Iterations already done in epoch `current_epoch` (0 at epoch ends; >0 after SIGINT/SIGTERM mid-epoch). */
  resume_iteration: number;
  /** Sum and count of the finite training losses of the interrupted epoch. */
  partial_train_loss_sum: number;
  partial_finite_steps: number;
  /** Consecutive skipped (non-finite) steps up to this point; the divergence guard's counter runs across epochs. */
  nonfinite_streak: number;
  warmup_epochs: number;
  /** Callback states by stateKey. */
  callbacks: Record<string, unknown>;
}

export const CHECKPOINT_FORMAT = 2;

export interface CheckpointContent {
  networkWeights: Map<string, Tensor>;
  optimizerState: optim.OptimizerStateDict;
  logging: PyValue<Tensor>;
  bestEma: number | null;
  /** the next epoch to run (or the one in progress, when resume.resume_iteration > 0) */
  currentEpoch: number;
  initArgs: { plans: unknown; configuration: string; fold: number | 'all'; dataset_json: unknown; device: string };
  trainerName: string;
  /** null: the recipe allows no test-time mirroring (upstream writes None then) */
  mirrorAxes: number[] | null;
  resume: ResumeState;
  /** The loss scaler of a mixed-precision run; null or absent without one (upstream writes None on CPU). */
  gradScalerState?: GradScalerState | null;
}

function toPy(value: unknown): PyValue<Tensor> {
  // JSON-like state from the callbacks: floats must stay floats in Python even when integral
  if (typeof value === 'number') return Number.isInteger(value) ? value : pyFloat(value);
  if (Array.isArray(value)) return value.map(toPy);
  if (value && typeof value === 'object' && !(value instanceof Tensor)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toPy(v)]));
  return value as PyValue<Tensor>;
}

// GradScaler.state_dict()'s Python types: the factors and the scale are floats, the interval and tracker ints
function gradScalerToPy(s: GradScalerState): PyValue<Tensor> {
  return { scale: pyFloat(s.scale), growth_factor: pyFloat(s.growth_factor), backoff_factor: pyFloat(s.backoff_factor), growth_interval: s.growth_interval, _growth_tracker: s._growth_tracker };
}

export async function saveCheckpoint(file: string, c: CheckpointContent): Promise<void> {
  const state = new Map<number, PyValue<Tensor>>();
  for (const [i, s] of c.optimizerState.state) state.set(i, s as PyValue<Tensor>);
  const value: PyValue<Tensor> = {
    network_weights: pyOrderedDict(Object.fromEntries(c.networkWeights)),
    optimizer_state: { state, param_groups: c.optimizerState.param_groups.map((g) => toPy(g)) },
    grad_scaler_state: c.gradScalerState ? gradScalerToPy(c.gradScalerState) : null,
    logging: c.logging,
    _best_ema: c.bestEma === null ? null : pyFloat(c.bestEma),
    current_epoch: c.currentEpoch,
    init_args: toPy(c.initArgs),
    trainer_name: c.trainerName,
    inference_allowed_mirroring_axes: c.mirrorAxes === null ? null : pyTuple(...c.mirrorAxes),
    nnunet_ts: toPy({ format: CHECKPOINT_FORMAT, ...c.resume }),
  };
  try {
    await savePth(file, value);
  } finally {
    for (const s of c.optimizerState.state.values()) for (const t of Object.values(s)) t.dispose();
  }
}

const MetaSchema = z.looseObject({
  current_epoch: z.number().int().nonnegative(),
  network_weights: z.record(z.string(), z.instanceof(Tensor)),
});
export type CheckpointFile = Record<string, unknown> & z.infer<typeof MetaSchema>;

/** Any checkpoint with nnU-Net's fields (ours or Python nnU-Net's). Tensors are owned by the caller. */
export async function readCheckpoint(file: string): Promise<CheckpointFile> {
  const value = await loadPth(file);
  const parsed = MetaSchema.safeParse(value);
  if (!parsed.success) throw new Error(`${file} is not an nnU-Net checkpoint: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

const scheduleSchema = z.object({
  trainer: z.string(),
  num_epochs: z.number(),
  num_iterations_per_epoch: z.number(),
  num_val_iterations_per_epoch: z.number(),
  plans_identifier: z.string(),
  configuration: z.string(),
  fold: z.union([z.number(), z.literal('all')]),
  seed: z.number(),
  world_size: z.number().int().positive().default(1),
});

const resumeSchema = z.object({
  format: z.literal(CHECKPOINT_FORMAT),
  schedule: scheduleSchema,
  resume_iteration: z.number().int().nonnegative(),
  partial_train_loss_sum: z.number(),
  partial_finite_steps: z.number().int().nonnegative(),
  nonfinite_streak: z.number().int().nonnegative(),
  warmup_epochs: z.number().int().nonnegative(),
  callbacks: z.record(z.string(), z.unknown()),
});

// format 1 (nnunet-ts 0.1): no trainer in the schedule, the seed beside it, early stopping as its own field
const resumeSchemaV1 = z.looseObject({
  early_stopping: z.unknown().nullable(),
  schedule: scheduleSchema.omit({ trainer: true, seed: true }),
  seed: z.number(),
  resume_iteration: z.number().int().optional(),
  partial_train_loss_sum: z.number().optional(),
  warmup_epochs: z.number().int(),
});

/** The resume state of a checkpoint written by nnunet-ts, or null for one written by nnU-Net (Python). */
export function resumeStateOf(checkpoint: CheckpointFile): ResumeState | null {
  const current = resumeSchema.safeParse(checkpoint.nnunet_ts);
  if (current.success) return current.data;
  const v1 = resumeSchemaV1.safeParse(checkpoint.nnunet_ts);
  if (!v1.success) return null;
  const trainer = typeof checkpoint.trainer_name === 'string' ? checkpoint.trainer_name : 'nnUNetTrainer';
  return {
    schedule: { ...v1.data.schedule, trainer, seed: v1.data.seed, world_size: 1 },
    resume_iteration: v1.data.resume_iteration ?? 0,
    partial_train_loss_sum: v1.data.partial_train_loss_sum ?? 0,
    // format 1 had no divergence guard: every step it took was finite
    partial_finite_steps: v1.data.resume_iteration ?? 0,
    nonfinite_streak: 0,
    warmup_epochs: v1.data.warmup_epochs,
    callbacks: v1.data.early_stopping ? { early_stopping: v1.data.early_stopping } : {},
  };
}

/** The optimizer state dict as read from a file (Map of param index → tensors, one param group). */
export function optimizerStateFromFile(value: unknown): optim.OptimizerStateDict {
  const v = value as { state: Map<number, Record<string, Tensor>> | Record<string, Record<string, Tensor>>; param_groups: optim.ParamGroup[] };
  const state = v.state instanceof Map ? v.state : new Map(Object.entries(v.state).map(([k, s]) => [Number(k), s]));
  const groups = v.param_groups.map((g) => Object.fromEntries(Object.entries(g).map(([k, x]) => [k, x && typeof x === 'object' && 'value' in x ? (x as { value: number }).value : x]))) as optim.ParamGroup[];
  return { state: state as Map<number, optim.ParamState>, param_groups: groups };
}

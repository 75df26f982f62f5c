// Checkpoint files: nnU-Net's fields (network_weights, optimizer_state, logging, _best_ema, current_epoch,
// init_args, trainer_name, inference_allowed_mirroring_axes) plus what exact resumption needs (`nnunet_ts`:
// best epoch, early-stopping state, data-pipeline positions, schedule identity). PyTorch-readable `.pth`.
import { z } from 'zod';
import { loadPth, savePth } from '../torch/serialization/pth-file.js';
import { type PyValue, pyFloat, pyOrderedDict, pyTuple } from '../torch/serialization/py-values.js';
import { Tensor, optim } from '../torch/index.js';
import type { ScheduleSettings } from './checkpoint-selection.js';

export const TRAINER_NAME = 'nnUNetTrainer';

export interface CheckpointContent {
  networkWeights: Map<string, Tensor>;
  optimizerState: optim.OptimizerStateDict;
  logging: PyValue<Tensor>;
  bestEma: number | null;
  bestEpoch: number | null;
  /** the next epoch to run (or the one in progress, when resumeIteration > 0) */
  currentEpoch: number;
  resumeIteration: number;
  partialTrainLossSum: number;
  initArgs: { plans: unknown; configuration: string; fold: number | 'all'; dataset_json: unknown; device: string };
  mirrorAxes: number[];
  earlyStopping: PyValue<Tensor> | null;
  schedule: ScheduleSettings;
  seed: number;
  trainBatchIndex: number;
  valBatchIndex: number;
  warmupEpochs: number;
  numEpochsRequested: number;
}

function toPy(value: unknown): PyValue<Tensor> {
  // JSON-like state from the callbacks: floats must stay floats in Python even when integral
  if (typeof value === 'number') return Number.isInteger(value) ? value : pyFloat(value);
  if (Array.isArray(value)) return value.map(toPy);
  if (value && typeof value === 'object' && !(value instanceof Tensor)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toPy(v)]));
  return value as PyValue<Tensor>;
}

export async function saveCheckpoint(file: string, c: CheckpointContent): Promise<void> {
  const state = new Map<number, PyValue<Tensor>>();
  for (const [i, s] of c.optimizerState.state) state.set(i, s as PyValue<Tensor>);
  const value: PyValue<Tensor> = {
    network_weights: pyOrderedDict(Object.fromEntries(c.networkWeights)),
    optimizer_state: { state, param_groups: c.optimizerState.param_groups.map((g) => toPy(g)) },
    grad_scaler_state: null,
    logging: c.logging,
    _best_ema: c.bestEma === null ? null : pyFloat(c.bestEma),
    current_epoch: c.currentEpoch,
    init_args: toPy(c.initArgs),
    trainer_name: TRAINER_NAME,
    inference_allowed_mirroring_axes: pyTuple(...c.mirrorAxes),
    nnunet_ts: toPy({
      format: 1,
      best_epoch: c.bestEpoch,
      early_stopping: c.earlyStopping,
      schedule: c.schedule,
      seed: c.seed,
      resume_iteration: c.resumeIteration,
      partial_train_loss_sum: c.partialTrainLossSum,
      train_batch_index: c.trainBatchIndex,
      val_batch_index: c.valBatchIndex,
      warmup_epochs: c.warmupEpochs,
      num_epochs_requested: c.numEpochsRequested,
    }),
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

/** Any checkpoint with nnU-Net's fields (ours or Python nnU-Net's). Tensors are owned by the caller. */
export async function readCheckpoint(file: string): Promise<Record<string, unknown> & z.infer<typeof MetaSchema>> {
  const value = await loadPth(file);
  const parsed = MetaSchema.safeParse(value);
  if (!parsed.success) throw new Error(`${file} is not an nnU-Net checkpoint: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

export const ResumeStateSchema = z.looseObject({
  best_epoch: z.number().int().nullable(),
  early_stopping: z.unknown().nullable(),
  schedule: z.object({
    num_epochs: z.number(),
    num_iterations_per_epoch: z.number(),
    num_val_iterations_per_epoch: z.number(),
    plans_identifier: z.string(),
    configuration: z.string(),
    fold: z.union([z.number(), z.literal('all')]),
  }),
  seed: z.number(),
  resume_iteration: z.number().int().optional(),
  partial_train_loss_sum: z.number().optional(),
  train_batch_index: z.number().int(),
  val_batch_index: z.number().int(),
  warmup_epochs: z.number().int(),
});
export type ResumeState = z.infer<typeof ResumeStateSchema>;

/** The optimizer state dict as read from a file (Map of param index → tensors, one param group). */
export function optimizerStateFromFile(value: unknown): optim.OptimizerStateDict {
  const v = value as { state: Map<number, Record<string, Tensor>> | Record<string, Record<string, Tensor>>; param_groups: optim.ParamGroup[] };
  const state = v.state instanceof Map ? v.state : new Map(Object.entries(v.state).map(([k, s]) => [Number(k), s]));
  const groups = v.param_groups.map((g) => Object.fromEntries(Object.entries(g).map(([k, x]) => [k, x && typeof x === 'object' && 'value' in x ? (x as { value: number }).value : x]))) as optim.ParamGroup[];
  return { state: state as Map<number, optim.ParamState>, param_groups: groups };
}

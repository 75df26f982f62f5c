// A trainer recipe: what nnU-Net's `-tr` classes choose by overriding nnUNetTrainer — network, optimizer, LR
// schedule, loss, augmentation, epochs, iterations and oversampling — as plain data plus a few factories. A
// variant is `defineRecipe({ name, ...what differs })`; its name names the results folder, as upstream.
import { z } from 'zod';
import { UserError } from '../../errors.js';
import { type BuildNetworkOptions, type SegmentationNetwork, buildNetwork } from '../../model/network-registry.js';
import { type Tensor, optim } from '../../torch/index.js';
import { LrSchedule, type LrScheduleOptions } from '../lr-schedule.js';

export interface TrainerRecipe {
  readonly name: string;
  readonly description: string;
  readonly numEpochs: number;
  readonly iterationsPerEpoch: number;
  readonly valIterations: number;
  readonly initialLr: number;
  readonly weightDecay: number;
  /** Share of each batch forced to contain foreground (nnU-Net: 0.33). */
  readonly oversampleForeground: number;
  /** Linear LR warmup epochs before the poly decay (nnUNetTrainer_warmup: 50). */
  readonly warmupEpochs: number;
  /** Soft Dice smoothing term (nnU-Net: 1e-5; nnUNetTrainerDiceCELoss_noSmooth: 0). */
  readonly diceSmooth: number;
  /** false: no training augmentation, as nnUNetTrainerNoDA. */
  readonly augment: boolean;
  /**
   * Mirror axes for training and test-time augmentation, given the default ones for the patch; null disables
   * mirroring in both (upstream's inference_allowed_mirroring_axes = None).
   */
  mirrorAxes(defaults: number[], patchSize: number[]): number[] | null;
  buildNetwork(options: BuildNetworkOptions): SegmentationNetwork;
  createOptimizer(params: Tensor[], recipe: TrainerRecipe): optim.Optimizer;
  /** The per-epoch LR (stateless, so resume needs no scheduler state). */
  lrSchedule(options: LrScheduleOptions): { scheduled(epoch: number): number };
}

/** nnUNetTrainer itself: nnU-Net v2's defaults (nnUNetTrainer.py __init__, configure_optimizers, _build_loss). */
export const nnUNetTrainer: TrainerRecipe = {
  name: 'nnUNetTrainer',
  description: "nnU-Net's default: 1000 epochs × 250 iterations, SGD Nesterov 0.99, poly LR from 1e-2, Dice+CE, full augmentation",
  numEpochs: 1000,
  iterationsPerEpoch: 250,
  valIterations: 50,
  initialLr: 1e-2,
  weightDecay: 3e-5,
  oversampleForeground: 0.33,
  warmupEpochs: 0,
  diceSmooth: 1e-5,
  augment: true,
  mirrorAxes: (defaults) => defaults,
  buildNetwork,
  createOptimizer: (params, r) => new optim.SGD(params, { lr: r.initialLr, momentum: 0.99, nesterov: true, weightDecay: r.weightDecay }),
  lrSchedule: (options) => new LrSchedule(options),
};

export type RecipeOverrides = { name: string } & Partial<Omit<TrainerRecipe, 'name'>>;

/** A recipe that differs from `base` (default nnUNetTrainer) only in what `overrides` gives. */
export function defineRecipe(overrides: RecipeOverrides, base: TrainerRecipe = nnUNetTrainer): TrainerRecipe {
  const recipe = { ...base, description: '', ...overrides };
  return validateRecipe(recipe, `recipe ${overrides.name}`);
}

const fn = z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', { message: 'must be a function' });
const recipeSchema = z.object({
  name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a trainer name is one word of letters, digits and _ (it names the results folder)'),
  description: z.string(),
  numEpochs: z.number().int().positive(),
  iterationsPerEpoch: z.number().int().positive(),
  valIterations: z.number().int().positive(),
  initialLr: z.number().positive(),
  weightDecay: z.number().nonnegative(),
  oversampleForeground: z.number().min(0).max(1),
  warmupEpochs: z.number().int().nonnegative(),
  diceSmooth: z.number().nonnegative(),
  augment: z.boolean(),
  mirrorAxes: fn,
  buildNetwork: fn,
  createOptimizer: fn,
  lrSchedule: fn,
});

/** Checks a recipe (built-in or from a user module) at the boundary, naming where it came from. */
export function validateRecipe(recipe: unknown, source: string): TrainerRecipe {
  const parsed = recipeSchema.safeParse(recipe);
  if (!parsed.success) throw new UserError(`${source}: invalid trainer recipe:\n${z.prettifyError(parsed.error)}`);
  return recipe as TrainerRecipe;
}

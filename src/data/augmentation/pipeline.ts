// nnU-Net's training and validation augmentation pipelines (nnUNetTrainer.get_training_transforms /
// get_validation_transforms; regions are converted by the loss, not here).
import { z } from 'zod';
import { UserError } from '../../errors.js';
import { multiplicativeBrightness } from './brightness.js';
import { contrast } from './contrast.js';
import { applyRandomBinaryOperator, moveSegAsOneHotToData, removeRandomConnectedComponent } from './cascade.js';
import { downsampleSegForDS } from './downsample-seg.js';
import { gammaTransform } from './gamma.js';
import { gaussianBlur } from './gaussian-blur.js';
import { gaussianNoise } from './gaussian-noise.js';
import { simulateLowResolution } from './low-resolution.js';
import { maskImage } from './mask-image.js';
import { mirror } from './mirror.js';
import { removeLabel } from './remove-label.js';
import { spatialTransform } from './spatial.js';
import { type SampleTransform, type Transform, chain, compose, withProbability } from './transform.js';
import { initialPatchSize } from './initial-patch-size.js';

const positiveInt = z.number().int().positive();

export const augmentationConfigSchema = z
  .object({
    /** Final patch size (the network input). */
    patchSize: z.array(positiveInt).min(2).max(3),
    /** Rotation range in radians. */
    rotation: z.tuple([z.number(), z.number()]),
    doDummy2D: z.boolean(),
    mirrorAxes: z.array(z.number().int().nonnegative()),
    /** Per-axis scale of each deep-supervision output, or null without deep supervision. */
    deepSupervisionScales: z.array(z.array(z.number().positive())).nullable(),
    /** Per image channel: normalized inside the nonzero mask (plans' use_mask_for_norm). */
    useMaskForNorm: z.array(z.boolean()),
    /**
     * Cascade stages: the foreground labels the previous stage's segmentation (seg channel 1) is one-hot encoded into,
     * as extra image channels. Unset for other configurations.
     */
    previousStageLabels: z.array(z.number().int().positive()).min(1).optional(),
  })
  .superRefine((c, ctx) => {
    const dim = c.patchSize.length;
    if (c.rotation[0] > c.rotation[1]) ctx.addIssue({ code: 'custom', message: 'rotation range must be [low, high]' });
    if (c.doDummy2D && dim !== 3) ctx.addIssue({ code: 'custom', message: 'dummy-2D augmentation needs a 3D patch' });
    if (c.mirrorAxes.some((a) => a >= dim)) ctx.addIssue({ code: 'custom', message: `mirror axes must be < ${dim}` });
    if (c.deepSupervisionScales?.some((s) => s.length !== dim)) ctx.addIssue({ code: 'custom', message: `each deep-supervision scale needs ${dim} entries` });
  });

export type AugmentationConfig = z.infer<typeof augmentationConfigSchema>;

function parseConfig(config: AugmentationConfig): AugmentationConfig {
  const parsed = augmentationConfigSchema.safeParse(config);
  if (!parsed.success) throw new UserError(`invalid augmentation config: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** A pipeline and the size of the patches it takes (the data loader crops that much around its sampled location). */
export interface AugmentationPipeline {
  transform: SampleTransform;
  samplePatchSize: number[];
}

function targets(c: AugmentationConfig): SampleTransform {
  return downsampleSegForDS(c.deepSupervisionScales ?? [c.patchSize.map(() => 1)]);
}

/** The training pipeline in nnU-Net's order and with its probabilities; it takes the enlarged initial patch. */
export function buildTrainingTransforms(config: AugmentationConfig): AugmentationPipeline {
  const c = parseConfig(config);
  const maskedChannels = c.useMaskForNorm.flatMap((m, i) => (m ? [i] : []));
  const steps: Transform[] = [
    spatialTransform({ patchSize: c.patchSize, pRotation: 0.2, rotation: c.rotation, pScaling: 0.2, scaling: [0.7, 1.4], dummy2D: c.doDummy2D }),
    gaussianNoise({ p: 0.1, sigma: [0, 0.1] }),
    gaussianBlur({ p: 0.2, sigma: [0.5, 1], pPerChannel: 0.5 }),
    multiplicativeBrightness({ p: 0.15, multiplier: [0.75, 1.25] }),
    contrast({ p: 0.15, factor: [0.75, 1.25], preserveRange: true }),
    simulateLowResolution({ p: 0.25, scale: [0.5, 1], pPerChannel: 0.5, ignoreAxes: c.doDummy2D ? [0] : [] }),
    gammaTransform({ p: 0.1, gamma: [0.7, 1.5], pInvert: 1, pRetainStats: 1 }),
    gammaTransform({ p: 0.3, gamma: [0.7, 1.5], pInvert: 0, pRetainStats: 1 }),
  ];
  if (c.mirrorAxes.length > 0) steps.push(mirror(c.mirrorAxes));
  if (maskedChannels.length > 0) steps.push(maskImage(maskedChannels));
  steps.push(removeLabel(-1, 0));
  const labels = c.previousStageLabels;
  if (labels) {
    const channels = labels.length;
    steps.push(
      moveSegAsOneHotToData(labels),
      withProbability(0.4, applyRandomBinaryOperator({ channels, strelSize: [1, 8], pPerLabel: 1 })),
      withProbability(0.2, removeRandomConnectedComponent({ channels, maxFraction: 0.15, pPerLabel: 1 })),
    );
  }
  return { transform: chain(compose(steps), targets(c)), samplePatchSize: initialPatchSize(c.patchSize, c.rotation, c.doDummy2D) };
}

/**
 * The validation pipeline: no augmentation, only −1 → 0, the previous stage's one-hot channels (cascade) and the
 * targets; it takes patches of the final size.
 */
export function buildValidationTransforms(config: AugmentationConfig): AugmentationPipeline {
  const c = parseConfig(config);
  const steps = [removeLabel(-1, 0), ...(c.previousStageLabels ? [moveSegAsOneHotToData(c.previousStageLabels)] : [])];
  return { transform: chain(compose(steps), targets(c)), samplePatchSize: c.patchSize.slice() };
}

// nnU-Net's augmentation settings for a plans configuration: rotation range, dummy-2D and mirror axes from the patch
// size, deep-supervision scales from the strides, masking from use_mask_for_norm.
import { type AugmentationConfig, configureRotationDummy2DMirroring, deepSupervisionScales } from '../data/augmentation/index.js';
import type { Configuration } from '../planning/plans-schema.js';

export function augmentationFor(config: Configuration): AugmentationConfig {
  const setup = configureRotationDummy2DMirroring(config.patch_size);
  return {
    patchSize: config.patch_size,
    rotation: [setup.rotation[0], setup.rotation[1]],
    doDummy2D: setup.doDummy2D,
    mirrorAxes: setup.mirrorAxes,
    deepSupervisionScales: deepSupervisionScales(config.architecture.arch_kwargs.strides),
    useMaskForNorm: config.use_mask_for_norm,
  };
}

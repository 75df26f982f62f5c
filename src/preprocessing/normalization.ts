/**
 * nnU-Net's intensity normalization schemes (`preprocessing/normalization/default_normalization_schemes.py`),
 * one channel at a time, on libtorch. Statistics are population statistics in float32, as numpy computes them.
 */
import { UserError } from '../errors.js';
import type { IntensityProperties } from '../planning/plans-schema.js';
import { Tensor, tidy, where } from '../torch/index.js';

export const NORMALIZATION_SCHEMES = [
  'ZScoreNormalization',
  'CTNormalization',
  'NoNormalization',
  'RescaleTo01Normalization',
  'RGBTo01Normalization',
] as const;
export type NormalizationScheme = (typeof NORMALIZATION_SCHEMES)[number];

export interface NormalizeOptions {
  /** ZScore only: statistics and rescaling restricted to voxels with seg >= 0 (inside the nonzero mask). */
  useMaskForNorm: boolean;
  /** The dataset's foreground intensity statistics of this channel (needed by CTNormalization). */
  intensityProperties?: IntensityProperties;
}

export function isNormalizationScheme(name: string): name is NormalizationScheme {
  return (NORMALIZATION_SCHEMES as readonly string[]).includes(name);
}

/**
 * Normalizes one channel `image` (float32, any shape) by `scheme`; `seg` (same shape, -1 outside the nonzero
 * mask) is only read by ZScore with `useMaskForNorm`. Returns a new float32 tensor.
 */
export function normalizeChannel(image: Tensor, seg: Tensor | null, scheme: string, options: NormalizeOptions): Tensor {
  if (!isNormalizationScheme(scheme)) {
    throw new UserError(`unknown normalization scheme '${scheme}' in the plans (known: ${NORMALIZATION_SCHEMES.join(', ')})`);
  }
  return tidy(() => {
    const x = image.to('float32');
    switch (scheme) {
      case 'ZScoreNormalization': {
        if (seg !== null && options.useMaskForNorm) {
          // Voxels outside the mask keep their value (0 after cropping), as upstream only rewrites image[mask].
          const mask = seg.ge(0);
          const inside = x.maskedSelect(mask);
          if (inside.numel === 0) return x.clone();
          const mean = inside.mean().item();
          const std = Math.max(inside.var(undefined, false).sqrt().item(), 1e-8);
          return where(mask, x.sub(mean).div(std), x);
        }
        const mean = x.mean().item();
        const std = Math.max(x.var(undefined, false).sqrt().item(), 1e-8);
        return x.sub(mean).div(std);
      }
      case 'CTNormalization': {
        const p = options.intensityProperties;
        if (p === undefined) throw new UserError('CTNormalization needs the foreground intensity properties of the channel in the plans');
        return x.clamp(p.percentile_00_5, p.percentile_99_5).sub(p.mean).div(Math.max(p.std, 1e-8));
      }
      case 'NoNormalization':
        return x.clone();
      case 'RescaleTo01Normalization': {
        const shifted = x.sub(x.amin().item());
        return shifted.div(Math.max(shifted.amax().item(), 1e-8));
      }
      case 'RGBTo01Normalization': {
        const min = x.amin().item();
        const max = x.amax().item();
        if (min < 0 || max > 255) {
          throw new UserError(`RGBTo01Normalization expects values in [0, 255] (uint8 RGB), found [${min}, ${max}]`);
        }
        return x.div(255);
      }
    }
  });
}

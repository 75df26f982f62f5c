// nnU-Net's intensity normalization schemes (default_normalization_schemes.py) on one float32 channel, as
// src/preprocessing/normalization.ts computes them on libtorch: statistics are population statistics, rounded to
// float32 as torch's .item() of a float32 reduction, and the arithmetic is float32.
import { UserError } from '../errors.js';

export const NORMALIZATION_SCHEMES = ['ZScoreNormalization', 'CTNormalization', 'NoNormalization', 'RescaleTo01Normalization', 'RGBTo01Normalization'] as const;

/** The dataset's foreground intensity statistics of one channel (plans' foreground_intensity_properties_per_channel). */
export interface IntensityStatistics {
  mean: number;
  std: number;
  percentile_00_5: number;
  percentile_99_5: number;
}

export interface ChannelNormalization {
  scheme: string;
  /** ZScore only: statistics and rescaling restricted to the nonzero mask (seg >= 0). */
  useMaskForNorm: boolean;
  intensityProperties?: IntensityStatistics;
}

const f = Math.fround;

/** float32 mean and population standard deviation (floored at 1e-8) of `x` where `mask` is set (all when null). */
function meanStd(x: Float32Array, mask: Uint8Array | null): { mean: number; std: number; n: number } {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < x.length; i++) {
    if (mask && !mask[i]) continue;
    sum += x[i];
    n++;
  }
  const mean = sum / n;
  let sq = 0;
  for (let i = 0; i < x.length; i++) {
    if (mask && !mask[i]) continue;
    const d = x[i] - mean;
    sq += d * d;
  }
  return { mean: f(mean), std: Math.max(f(Math.sqrt(f(sq / n))), 1e-8), n };
}

function range(x: Float32Array): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
  }
  return { min, max };
}

/**
 * Normalizes one channel (float32, cropped) by its scheme; `nonzero` (1 inside the nonzero mask) is read by ZScore
 * with useMaskForNorm only. Returns a new array.
 */
export function normalizeChannel(x: Float32Array, nonzero: Uint8Array | null, n: ChannelNormalization): Float32Array {
  const out = new Float32Array(x.length);
  switch (n.scheme) {
    case 'ZScoreNormalization': {
      const mask = n.useMaskForNorm ? nonzero : null;
      const { mean, std, n: count } = meanStd(x, mask);
      if (count === 0) return x.slice();
      // outside the mask the value is kept (0 after cropping), as upstream only rewrites image[mask]
      for (let i = 0; i < x.length; i++) out[i] = mask && !mask[i] ? x[i] : f(x[i] - mean) / std;
      return out;
    }
    case 'CTNormalization': {
      const p = n.intensityProperties;
      if (p === undefined) throw new UserError('CTNormalization needs the foreground intensity properties of the channel');
      const [lo, hi, mean, std] = [f(p.percentile_00_5), f(p.percentile_99_5), f(p.mean), f(Math.max(p.std, 1e-8))];
      for (let i = 0; i < x.length; i++) out[i] = f(Math.min(Math.max(x[i], lo), hi) - mean) / std;
      return out;
    }
    case 'NoNormalization':
      return x.slice();
    case 'RescaleTo01Normalization': {
      const { min, max } = range(x);
      const scale = f(Math.max(f(max - min), 1e-8));
      for (let i = 0; i < x.length; i++) out[i] = f(x[i] - min) / scale;
      return out;
    }
    case 'RGBTo01Normalization': {
      const { min, max } = range(x);
      if (min < 0 || max > 255) throw new UserError(`RGBTo01Normalization expects values in [0, 255] (uint8 RGB), found [${min}, ${max}]`);
      for (let i = 0; i < x.length; i++) out[i] = x[i] / 255;
      return out;
    }
    default:
      throw new UserError(`unknown normalization scheme '${n.scheme}' (known: ${NORMALIZATION_SCHEMES.join(', ')})`);
  }
}

// The Gaussian importance map that weights each sliding-window tile (nnU-Net's compute_gaussian): tile centres are
// trusted more than tile borders, where the network sees less context.
import { type Tensor, tensor, tidy } from '../torch/index.js';

/** The value at the centre of the map (nnU-Net's value_scaling_factor at inference). */
export const GAUSSIAN_PEAK = 10;

/**
 * One axis of scipy.ndimage.gaussian_filter applied to a delta at `size >> 1` (mode 'constant', truncate 4): the
 * unnormalised kernel exp(-x²/2σ²) within the kernel radius int(4σ + 0.5), zero outside. Normalisation is dropped
 * because the map is rescaled to its maximum anyway.
 */
export function gaussianProfile(size: number, sigma: number): Float64Array {
  const centre = size >> 1;
  const radius = Math.trunc(4 * sigma + 0.5);
  const out = new Float64Array(size);
  for (let i = 0; i < size; i++) {
    const d = i - centre;
    out[i] = Math.abs(d) <= radius ? Math.exp(-0.5 * (d / sigma) ** 2) : 0;
  }
  return out;
}

/**
 * float32 map of shape `tileSize`: a delta at the centre blurred with σ = tile/8 per axis, scaled so the maximum is
 * GAUSSIAN_PEAK, and zeros replaced by the smallest nonzero value (so every voxel of a tile has weight and the final
 * division never meets 0). The filter of a delta is separable, so the map is the outer product of the per-axis profiles.
 */
export function gaussianImportanceMap(tileSize: readonly number[], sigmaScale = 1 / 8): Tensor {
  if (tileSize.length === 0 || tileSize.some((s) => !Number.isInteger(s) || s < 1)) {
    throw new RangeError(`tile size must be positive integers, got [${tileSize.join(', ')}]`);
  }
  return tidy(() => {
    // float64 like scipy until the final cast, so tiny tails round the same way
    const factors = tileSize.map((size, axis) =>
      tensor(gaussianProfile(size, size * sigmaScale), tileSize.map((_, a) => (a === axis ? size : 1)), 'float64'),
    );
    const product = factors.reduce((acc, f) => acc.mul(f));
    const map = product.mul(GAUSSIAN_PEAK / product.max().item()).float();
    const nonzero = map.gt(0);
    const smallest = map.maskedSelect(nonzero).min().item();
    return map.maskedFill(nonzero.logicalNot(), smallest).contiguous();
  });
}

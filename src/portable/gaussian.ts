// The sliding window's Gaussian importance map (nnU-Net's compute_gaussian) on typed arrays: tile centres are
// trusted more than tile borders, where the network sees less context.

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
 * float32 map of shape `tileSize` (C order): the outer product of the per-axis profiles (σ = tile/8) in float64,
 * scaled so the maximum is GAUSSIAN_PEAK, and zeros replaced by the smallest nonzero value, so every voxel of a
 * tile has weight and the final division never meets 0.
 */
export function gaussianMap(tileSize: readonly number[], sigmaScale = 1 / 8): Float32Array {
  if (tileSize.length === 0 || tileSize.some((s) => !Number.isInteger(s) || s < 1)) {
    throw new RangeError(`tile size must be positive integers, got [${tileSize.join(', ')}]`);
  }
  let product = Float64Array.of(1);
  for (const size of tileSize) {
    const profile = gaussianProfile(size, size * sigmaScale);
    const next = new Float64Array(product.length * size);
    for (let i = 0; i < product.length; i++) for (let j = 0; j < size; j++) next[i * size + j] = product[i] * profile[j];
    product = next;
  }
  let max = 0;
  for (const v of product) if (v > max) max = v;
  const scale = GAUSSIAN_PEAK / max;
  const map = new Float32Array(product.length);
  let smallest = Infinity;
  for (let i = 0; i < map.length; i++) {
    map[i] = product[i] * scale;
    if (map[i] > 0 && map[i] < smallest) smallest = map[i];
  }
  for (let i = 0; i < map.length; i++) if (map[i] === 0) map[i] = smallest;
  return map;
}

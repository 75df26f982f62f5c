// The Gaussian importance map that weights each sliding-window tile (nnU-Net's compute_gaussian) as a tensor. The map
// itself is computed once, in src/portable/gaussian.ts, which the browser-side sliding window uses too.
import { gaussianMap } from '../portable/gaussian.js';
import { type Tensor, tensor } from '../torch/index.js';

export { GAUSSIAN_PEAK } from '../portable/gaussian.js';

/** float32 map of shape `tileSize` (σ = tile/8 per axis, peak GAUSSIAN_PEAK, no zeros): see portable/gaussian.ts. */
export function gaussianImportanceMap(tileSize: readonly number[], sigmaScale = 1 / 8): Tensor {
  return tensor(gaussianMap(tileSize, sigmaScale), [...tileSize], 'float32');
}

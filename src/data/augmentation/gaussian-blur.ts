// BG2 GaussianBlurTransform as nnU-Net configures it: each channel with probability 0.5, σ ~ U(0.5, 1) drawn per channel
// and per axis, separable 1D Gaussians (kernel truncated at 6σ, odd size) with reflect padding.
import { F, type Tensor, arange, tensor, tidy } from '../../torch/index.js';
import { roundHalfEven } from './python-round.js';
import { type Range, pickChannels, uniformIn } from './random-scalar.js';
import { replaceChannels, takeChannels } from './channels.js';
import { type Transform, withProbability } from './transform.js';

export interface GaussianBlurOptions {
  p?: number;
  sigma?: Range;
  pPerChannel?: number;
}

/** BG2's kernel length: σ·6 + 0.5 rounded (Python rounding) to the nearest odd integer. */
export function blurKernelSize(sigma: number, truncate = 6): number {
  const n = sigma * truncate + 0.5;
  const r = roundHalfEven(n);
  if (r % 2 === 1) return r;
  return n - r >= 0 ? r + 1 : r - 1;
}

/** Normalized Gaussian taps at −(k−1)/2 … (k−1)/2, zero-padded symmetrically to `width` taps. */
export function blurKernel(sigma: number, width = blurKernelSize(sigma)): number[] {
  const k = blurKernelSize(sigma);
  const half = (k - 1) / 2;
  const taps = Array.from({ length: k }, (_, i) => Math.exp(-0.5 * ((i - half) / sigma) ** 2));
  const total = taps.reduce((a, b) => a + b, 0);
  const margin = (width - k) / 2;
  return [...new Array<number>(margin).fill(0), ...taps.map((t) => t / total), ...new Array<number>(margin).fill(0)];
}

/** Source index of each position of an axis of length n padded by r on both sides, mirrored without repeating the edge (torch 'reflect'). */
function reflectIndices(n: number, r: number): Tensor {
  if (n === 1) return tensor(new Array<number>(n + 2 * r).fill(0), [n + 2 * r], 'int64');
  const period = 2 * (n - 1);
  const idx = arange(-r, n + r).remainder(period);
  return idx.minimum(idx.neg().add(period));
}

/**
 * Blurs [k, ...spatial] along one axis, channel i with sigmas[i]: one grouped convolution whose kernels are zero-padded
 * to the widest one, after reflect padding by the widest radius (the zero taps make this equal to per-channel padding).
 */
export function blurAxis(x: Tensor, sigmas: number[], axis: number): Tensor {
  return tidy(() => {
    const spatial = x.ndim - 1;
    const width = Math.max(...sigmas.map((s) => blurKernelSize(s)));
    const kernelShape = [sigmas.length, 1, ...new Array<number>(spatial).fill(1)];
    kernelShape[2 + axis] = width;
    const weight = tensor(sigmas.flatMap((s) => blurKernel(s, width)), kernelShape);
    const padded = x.unsqueeze(0).indexSelect(2 + axis, reflectIndices(x.size(1 + axis), (width - 1) / 2));
    return F.conv(padded, weight, null, { groups: sigmas.length }).squeeze(0);
  });
}

export function gaussianBlur({ p = 0.2, sigma = [0.5, 1], pPerChannel = 0.5 }: GaussianBlurOptions = {}): Transform {
  return withProbability(p, (sample, rng) => {
    const spatial = sample.image.ndim - 1;
    const channels = pickChannels(rng, sample.image.size(0), pPerChannel);
    if (channels.length === 0) return sample;
    const sigmas = channels.map(() => Array.from({ length: spatial }, () => uniformIn(rng, sigma)));
    return tidy(() => {
      let x = takeChannels(sample.image, channels);
      for (let axis = 0; axis < spatial; axis++) x = blurAxis(x, sigmas.map((s) => s[axis]), axis);
      return { ...sample, image: replaceChannels(sample.image, channels, x) };
    });
  });
}

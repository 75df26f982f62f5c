// BG2 GaussianNoiseTransform as nnU-Net configures it: one σ ~ U(0, 0.1) and one noise field shared by all channels.
import { randn, tidy } from '../../torch/index.js';
import { type Range, uniformIn } from './random-scalar.js';
import { type Transform, withProbability } from './transform.js';

export interface GaussianNoiseOptions {
  p?: number;
  /** Range of the noise standard deviation (BG2 calls it noise_variance but uses it as σ). */
  sigma?: Range;
}

export function gaussianNoise({ p = 0.1, sigma = [0, 0.1] }: GaussianNoiseOptions = {}): Transform {
  return withProbability(p, (sample, rng) => {
    const std = uniformIn(rng, sigma);
    return tidy(() => ({ ...sample, image: sample.image.add(randn([1, ...sample.image.shape.slice(1)], rng).mul(std)) }));
  });
}

// BG2 SimulateLowResolutionTransform as nnU-Net configures it: each channel with probability 0.5, one scale
// s ~ U(0.5, 1) for all axes (ignored axes keep 1), nearest-exact down to round(n·s), then (bi/tri)linear back up.
import { F, cat, tidy } from '../../torch/index.js';
import { scaledShape } from './python-round.js';
import { type Range, pickChannels, uniformIn } from './random-scalar.js';
import { replaceChannels } from './channels.js';
import { type Transform, withProbability } from './transform.js';

export interface LowResolutionOptions {
  p?: number;
  scale?: Range;
  pPerChannel?: number;
  /** Spatial axes never downsampled (nnU-Net: axis 0 under dummy-2D). */
  ignoreAxes?: number[];
}

const UP_MODE = { 1: 'linear', 2: 'bilinear', 3: 'trilinear' } as const;

export function simulateLowResolution({ p = 0.25, scale = [0.5, 1], pPerChannel = 0.5, ignoreAxes = [] }: LowResolutionOptions = {}): Transform {
  return withProbability(p, (sample, rng) => {
    const channels = pickChannels(rng, sample.image.size(0), pPerChannel);
    if (channels.length === 0) return sample;
    const shape = sample.image.shape.slice(1);
    const scales = channels.map(() => {
      const s = uniformIn(rng, scale);
      return shape.map((_, axis) => (ignoreAxes.includes(axis) ? 1 : s));
    });
    return tidy(() => {
      const mode = UP_MODE[shape.length as 1 | 2 | 3];
      const resampled = channels.map((c, i) => {
        const x = sample.image.slice(0, c, c + 1).unsqueeze(0);
        const down = F.interpolate(x, { size: scaledShape(shape, scales[i]), mode: 'nearest-exact' });
        return F.interpolate(down, { size: shape, mode }).squeeze(0);
      });
      return { ...sample, image: replaceChannels(sample.image, channels, cat(resampled, 0)) };
    });
  });
}

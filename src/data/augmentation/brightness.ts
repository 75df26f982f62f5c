// BG2 MultiplicativeBrightnessTransform: each selected channel times its own BGContrast((0.75, 1.25)) multiplier.
import { tidy } from '../../torch/index.js';
import { type Range, bgContrast, pickChannels } from './random-scalar.js';
import { perChannel, replaceChannels, takeChannels } from './channels.js';
import { type Transform, withProbability } from './transform.js';

export interface BrightnessOptions {
  p?: number;
  multiplier?: Range;
  pPerChannel?: number;
}

export function multiplicativeBrightness({ p = 0.15, multiplier = [0.75, 1.25], pPerChannel = 1 }: BrightnessOptions = {}): Transform {
  return withProbability(p, (sample, rng) => {
    const channels = pickChannels(rng, sample.image.size(0), pPerChannel);
    if (channels.length === 0) return sample;
    const factors = channels.map(() => bgContrast(rng, multiplier));
    return tidy(() => {
      const x = takeChannels(sample.image, channels).mul(perChannel(factors, sample.image.ndim - 1));
      return { ...sample, image: replaceChannels(sample.image, channels, x) };
    });
  });
}

// BG2 ContrastTransform: per channel x ← (x − mean)·f + mean with f ~ BGContrast((0.75, 1.25)); preserve_range clamps the
// result to the channel's original [min, max].
import { tidy } from '../../torch/index.js';
import { type Range, bgContrast, pickChannels } from './random-scalar.js';
import { perChannel, replaceChannels, takeChannels } from './channels.js';
import { type Transform, withProbability } from './transform.js';

export interface ContrastOptions {
  p?: number;
  factor?: Range;
  preserveRange?: boolean;
  pPerChannel?: number;
}

export function contrast({ p = 0.15, factor = [0.75, 1.25], preserveRange = true, pPerChannel = 1 }: ContrastOptions = {}): Transform {
  return withProbability(p, (sample, rng) => {
    const channels = pickChannels(rng, sample.image.size(0), pPerChannel);
    if (channels.length === 0) return sample;
    const factors = channels.map(() => bgContrast(rng, factor));
    return tidy(() => {
      const spatialDims = sample.image.ndim - 1;
      const axes = Array.from({ length: spatialDims }, (_, i) => i + 1);
      const x = takeChannels(sample.image, channels);
      const mean = x.mean(axes, true);
      let y = x.sub(mean).mul(perChannel(factors, spatialDims)).add(mean);
      if (preserveRange) y = y.maximum(x.amin(axes, true)).minimum(x.amax(axes, true));
      return { ...sample, image: replaceChannels(sample.image, channels, y) };
    });
  });
}

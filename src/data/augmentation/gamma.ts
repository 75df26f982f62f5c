// BG2 GammaTransform: per channel, optionally inverted (x ← −x before and after), x ← ((x − min)/range)^γ·range + min
// with γ ~ BGContrast((0.7, 1.5)); retain_stats restores the channel's mean and (unbiased) std afterwards.
import { tidy, where } from '../../torch/index.js';
import { type Range, bgContrast, pickChannels } from './random-scalar.js';
import { perChannel, replaceChannels, takeChannels } from './channels.js';
import { type Transform, withProbability } from './transform.js';

export interface GammaOptions {
  p?: number;
  gamma?: Range;
  pInvert?: number;
  pRetainStats?: number;
  pPerChannel?: number;
}

export function gammaTransform({ p = 0.3, gamma = [0.7, 1.5], pInvert = 0, pRetainStats = 1, pPerChannel = 1 }: GammaOptions = {}): Transform {
  return withProbability(p, (sample, rng) => {
    const channels = pickChannels(rng, sample.image.size(0), pPerChannel);
    if (channels.length === 0) return sample;
    const retain = channels.map(() => rng.random() < pRetainStats);
    const invert = channels.map(() => rng.random() < pInvert);
    const gammas = channels.map(() => bgContrast(rng, gamma));
    return tidy(() => {
      const spatialDims = sample.image.ndim - 1;
      const axes = Array.from({ length: spatialDims }, (_, i) => i + 1);
      const sign = perChannel(invert.map((i) => (i ? -1 : 1)), spatialDims);
      const x = takeChannels(sample.image, channels).mul(sign);
      const minimum = x.amin(axes, true);
      const range = x.amax(axes, true).sub(minimum);
      const y = x.sub(minimum).div(range.clamp(1e-7)).pow(perChannel(gammas, spatialDims)).mul(range).add(minimum);
      const restored = y.sub(y.mean(axes, true)).mul(x.std(axes, true, true).div(y.std(axes, true, true).clamp(1e-7))).add(x.mean(axes, true));
      const out = where(perChannel(retain.map(Number), spatialDims).gt(0), restored, y).mul(sign);
      return { ...sample, image: replaceChannels(sample.image, channels, out) };
    });
  });
}

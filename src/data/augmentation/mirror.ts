// BG2 MirrorTransform: each allowed spatial axis flipped with probability 0.5, image and seg together.
import { tidy } from '../../torch/index.js';
import type { Transform } from './transform.js';

export function mirror(allowedAxes: number[], pPerAxis = 0.5): Transform {
  return (sample, rng) => {
    const axes = allowedAxes.filter(() => rng.random() < pPerAxis).map((a) => a + 1);
    if (axes.length === 0) return sample;
    return tidy(() => ({ ...sample, image: sample.image.flip(axes), seg: sample.seg.flip(axes) }));
  };
}

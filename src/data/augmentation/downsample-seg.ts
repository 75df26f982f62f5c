// BG2 DownsampleSegForDSTransform: the seg at every deep-supervision scale (nearest-exact to round(n·s)); scale 1 keeps
// the seg itself.
import { F, type Generator, tidy } from '../../torch/index.js';
import { scaledShape } from './python-round.js';
import type { Sample, TrainingSample } from './transform.js';

export function downsampleSegForDS(scales: number[][]): (sample: Sample, rng: Generator) => TrainingSample {
  return (sample) =>
    tidy(() => {
      const { seg } = sample;
      const segs = scales.map((s) => {
        if (s.every((v) => v === 1)) return seg;
        const size = scaledShape(seg.shape.slice(1), s);
        return F.interpolate(seg.float().unsqueeze(0), { size, mode: 'nearest-exact' }).squeeze(0).to(seg.dtype);
      });
      return { ...sample, segs };
    });
}

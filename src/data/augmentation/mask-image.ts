// nnU-Net's MaskImageTransform (use_mask_for_norm): image channels that were normalized inside the nonzero mask are set
// to 0 where seg channel 0 is negative (outside the image). BG2's implementation loops over every channel despite
// being given the list; here only the listed channels are masked, which is what nnU-Net asks for.
import { tensor, tidy } from '../../torch/index.js';
import type { Transform } from './transform.js';

export function maskImage(channels: number[]): Transform {
  return (sample) =>
    tidy(() => {
      const { image, seg } = sample;
      const selected = Array.from({ length: image.size(0) }, (_, c) => (channels.includes(c) ? 1 : 0));
      const channelMask = tensor(selected, [selected.length, ...new Array<number>(image.ndim - 1).fill(1)], 'bool');
      const outside = seg.slice(0, 0, 1).lt(0);
      return { ...sample, image: image.maskedFill(outside.logicalAnd(channelMask), 0) };
    });
}

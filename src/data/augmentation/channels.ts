// Per-channel intensity transforms work on a subset of channels; these helpers cut it out and put it back.
import { type Tensor, tensor } from '../../torch/index.js';

/** The chosen channels of [C, ...spatial] as one tensor [k, ...spatial]. */
export function takeChannels(image: Tensor, channels: number[]): Tensor {
  return image.indexSelect(0, tensor(channels, [channels.length], 'int64'));
}

/** A copy of image with `channels` replaced by `values` [k, ...spatial] (values itself when it covers every channel). */
export function replaceChannels(image: Tensor, channels: number[], values: Tensor): Tensor {
  if (channels.length === image.size(0) && channels.every((c, i) => c === i)) return values;
  return image.clone().indexPut_([tensor(channels, [channels.length], 'int64')], values);
}

/** Per-channel scalars shaped [k, 1, ...] to broadcast over [k, ...spatial]. */
export function perChannel(values: number[], spatialDims: number): Tensor {
  return tensor(values, [values.length, ...new Array<number>(spatialDims).fill(1)]);
}

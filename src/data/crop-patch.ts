// Cuts a patch [C, ...patch] whose lower corner may lie outside the case, padding the overhang with a constant.
import type { Tensor } from '../torch/index.js';

export function cropPatch(volume: Tensor, lowerCorner: number[], patch: number[], padValue: number): Tensor {
  const spatialStart = volume.ndim - patch.length;
  let out = volume;
  const pad: number[] = [];
  patch.forEach((p, d) => {
    const size = volume.size(spatialStart + d);
    const start = Math.max(lowerCorner[d], 0);
    const end = Math.min(lowerCorner[d] + p, size);
    out = out.slice(spatialStart + d, start, Math.max(start, end));
    pad.unshift(start - lowerCorner[d], lowerCorner[d] + p - Math.max(start, end));
  });
  return pad.some((v) => v !== 0) ? out.pad(pad, padValue) : out.contiguous();
}

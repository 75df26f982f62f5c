/**
 * nnU-Net's crop-to-nonzero (`preprocessing/cropping/cropping.py`): the union of every channel's nonzero voxels,
 * holes filled like `scipy.ndimage.binary_fill_holes` (face connectivity), then the bounding box of that mask.
 * Arrays are flat, C-order, shaped [z, y, x] (or any N-D shape); one array per channel.
 */

import { stridesOf } from '../portable/nd.js';

/** Numeric typed arrays a volume can arrive in. */
export type NumericArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array;

/** Half-open [start, end) per axis, nnU-Net's `bbox` format (`[[z0, z1], [y0, y1], [x0, x1]]`). */
export type BoundingBox = [number, number][];

/** Label written into the segmentation for background voxels outside the nonzero mask. */
export const OUTSIDE_NONZERO_LABEL = -1;

export function voxelCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function checkLength(array: ArrayLike<number>, shape: readonly number[], what: string): void {
  if (array.length !== voxelCount(shape)) {
    throw new Error(`${what} has ${array.length} values but shape [${shape.join(', ')}] needs ${voxelCount(shape)}`);
  }
}

/** 1 where any channel is nonzero (NaN counts as nonzero, as `data != 0` does in numpy). */
export function nonzeroUnion(channels: readonly ArrayLike<number>[], shape: readonly number[]): Uint8Array {
  const mask = new Uint8Array(voxelCount(shape));
  for (const channel of channels) {
    checkLength(channel, shape, 'channel');
    for (let i = 0; i < mask.length; i++) if (channel[i] !== 0) mask[i] = 1;
  }
  return mask;
}

/**
 * `scipy.ndimage.binary_fill_holes` with its default structuring element (neighbours share a face): background
 * that cannot reach the array border through background becomes foreground.
 */
export function binaryFillHoles(mask: Uint8Array, shape: readonly number[]): Uint8Array {
  checkLength(mask, shape, 'mask');
  const n = mask.length;
  const strides = stridesOf(shape);
  const dims = shape.length;
  // reached[i] = 1: background connected to the border
  const reached = new Uint8Array(n);
  const queue = new Int32Array(n);
  let head = 0;
  let tail = 0;
  const coord = new Array<number>(dims).fill(0);
  for (let i = 0; i < n; i++) {
    let onBorder = false;
    for (let d = 0; d < dims; d++) {
      if (coord[d] === 0 || coord[d] === shape[d] - 1) {
        onBorder = true;
        break;
      }
    }
    if (onBorder && mask[i] === 0) {
      reached[i] = 1;
      queue[tail++] = i;
    }
    for (let d = dims - 1; d >= 0; d--) {
      if (++coord[d] < shape[d]) break;
      coord[d] = 0;
    }
  }
  while (head < tail) {
    const i = queue[head++];
    let rest = i;
    for (let d = 0; d < dims; d++) {
      const c = Math.floor(rest / strides[d]);
      rest -= c * strides[d];
      if (c > 0) {
        const j = i - strides[d];
        if (mask[j] === 0 && reached[j] === 0) {
          reached[j] = 1;
          queue[tail++] = j;
        }
      }
      if (c < shape[d] - 1) {
        const j = i + strides[d];
        if (mask[j] === 0 && reached[j] === 0) {
          reached[j] = 1;
          queue[tail++] = j;
        }
      }
    }
  }
  const filled = new Uint8Array(n);
  for (let i = 0; i < n; i++) filled[i] = reached[i] ? 0 : 1;
  return filled;
}

/**
 * Bounding box of the nonzero voxels. An empty mask gives the full extent, as acvl_utils' `get_bbox_from_mask`
 * (used by nnU-Net) does.
 */
export function boundingBoxOfMask(mask: Uint8Array, shape: readonly number[]): BoundingBox {
  checkLength(mask, shape, 'mask');
  const dims = shape.length;
  const lo = shape.map((s) => s);
  const hi = shape.map(() => -1);
  const coord = new Array<number>(dims).fill(0);
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] !== 0) {
      for (let d = 0; d < dims; d++) {
        if (coord[d] < lo[d]) lo[d] = coord[d];
        if (coord[d] > hi[d]) hi[d] = coord[d];
      }
    }
    for (let d = dims - 1; d >= 0; d--) {
      if (++coord[d] < shape[d]) break;
      coord[d] = 0;
    }
  }
  if (hi[0] < 0) return shape.map((s) => [0, s] as [number, number]);
  return shape.map((_, d) => [lo[d], hi[d] + 1] as [number, number]);
}

export function bboxShape(bbox: BoundingBox): number[] {
  return bbox.map(([a, b]) => b - a);
}

/** Copies the box out of a flat C-order array into a new array of the same type. */
export function cropToBoundingBox<T extends NumericArray>(data: T, shape: readonly number[], bbox: BoundingBox): T {
  checkLength(data, shape, 'data');
  if (bbox.length !== shape.length) throw new Error(`bbox has ${bbox.length} axes, data has ${shape.length}`);
  bbox.forEach(([a, b], d) => {
    if (!(Number.isInteger(a) && Number.isInteger(b) && a >= 0 && a < b && b <= shape[d])) {
      throw new Error(`bbox axis ${d} [${a}, ${b}) does not fit size ${shape[d]}`);
    }
  });
  const outShape = bboxShape(bbox);
  const out = new (data.constructor as new (n: number) => T)(voxelCount(outShape));
  const strides = stridesOf(shape);
  const dims = shape.length;
  const rowLen = outShape[dims - 1];
  const rows = voxelCount(outShape) / rowLen;
  const coord = new Array<number>(dims - 1).fill(0);
  for (let r = 0; r < rows; r++) {
    let src = bbox[dims - 1][0];
    for (let d = 0; d < dims - 1; d++) src += (coord[d] + bbox[d][0]) * strides[d];
    out.set(data.subarray(src, src + rowLen) as ArrayLike<number>, r * rowLen);
    for (let d = dims - 2; d >= 0; d--) {
      if (++coord[d] < outShape[d]) break;
      coord[d] = 0;
    }
  }
  return out;
}

export interface CropResult<T extends NumericArray> {
  /** The cropped channels, same types as the input. */
  channels: T[];
  /** The cropped segmentation with background outside the filled nonzero mask set to -1. */
  seg: Int16Array;
  /** Shape after cropping. */
  shape: number[];
  bbox: BoundingBox;
}

/**
 * `crop_to_nonzero(data, seg)`. Without a segmentation, the result's seg is 0 inside the mask and -1 outside
 * (nnU-Net does the same at inference). Label values must fit in int16.
 */
export function cropToNonzero<T extends NumericArray>(
  channels: readonly T[],
  shape: readonly number[],
  seg?: NumericArray,
): CropResult<T> {
  if (channels.length === 0) throw new Error('cropToNonzero needs at least one channel');
  const mask = binaryFillHoles(nonzeroUnion(channels, shape), shape);
  const bbox = boundingBoxOfMask(mask, shape);
  const croppedShape = bboxShape(bbox);
  const croppedMask = cropToBoundingBox(mask, shape, bbox);
  const croppedSeg = new Int16Array(croppedMask.length);
  if (seg !== undefined) {
    checkLength(seg, shape, 'segmentation');
    croppedSeg.set(cropToBoundingBox(seg, shape, bbox) as ArrayLike<number>);
  }
  for (let i = 0; i < croppedSeg.length; i++) {
    if (croppedSeg[i] === 0 && croppedMask[i] === 0) croppedSeg[i] = OUTSIDE_NONZERO_LABEL;
  }
  return {
    channels: channels.map((c) => cropToBoundingBox(c, shape, bbox)),
    seg: croppedSeg,
    shape: croppedShape,
    bbox,
  };
}

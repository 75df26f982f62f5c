// N-D array helpers on flat C-order typed arrays: strided gathers (permute, flip, sub-boxes), scatters into boxes
// and zero padding. Work is done a row (the last axis) at a time; the only per-row cost is an index update.

export type TypedArray = Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array;

type Ctor<T extends TypedArray> = new (n: number) => T;

export function voxels(shape: readonly number[]): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

export function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d];
  }
  return strides;
}

/**
 * Calls `row(outStart, srcStart)` for every row of an array of shape `shape` whose element (i0, ..., in) sits in the
 * source at `offset + Σ i_d·strides[d]`; a row is the last axis (length shape[n-1], source step strides[n-1]).
 */
function forEachRow(shape: readonly number[], offset: number, strides: readonly number[], row: (outStart: number, srcStart: number) => void): void {
  const last = shape.length - 1;
  const inner = shape[last];
  const rows = voxels(shape) / inner;
  const coord = new Array<number>(last).fill(0);
  let base = offset;
  for (let r = 0; r < rows; r++) {
    row(r * inner, base);
    for (let d = last - 1; d >= 0; d--) {
      base += strides[d];
      if (++coord[d] < shape[d]) break;
      base -= strides[d] * shape[d];
      coord[d] = 0;
    }
  }
}

/** A new array of shape `shape` read from `src` at `offset` with per-axis `strides` (any sign). */
export function gather<T extends TypedArray>(src: T, shape: readonly number[], offset: number, strides: readonly number[]): T {
  const out = new (src.constructor as Ctor<T>)(voxels(shape));
  if (out.length === 0) return out;
  const inner = shape[shape.length - 1];
  const step = strides[strides.length - 1];
  forEachRow(shape, offset, strides, (o, s) => {
    if (step === 1) out.set(src.subarray(s, s + inner), o);
    else for (let i = 0; i < inner; i++) out[o + i] = src[s + i * step];
  });
  return out;
}

/** `data` of `shape` with its axes reordered: result axis i is input axis order[i] (numpy transpose). */
export function permute<T extends TypedArray>(data: T, shape: readonly number[], order: readonly number[]): { data: T; shape: number[] } {
  const strides = stridesOf(shape);
  const outShape = order.map((a) => shape[a]);
  if (order.every((a, i) => a === i)) return { data: data.slice() as T, shape: outShape };
  return { data: gather(data, outShape, 0, order.map((a) => strides[a])), shape: outShape };
}

/** `data` of `shape` reversed along `axes`. */
export function flip<T extends TypedArray>(data: T, shape: readonly number[], axes: readonly number[]): T {
  const strides = stridesOf(shape);
  let offset = 0;
  const s = strides.map((st, d) => {
    if (!axes.includes(d)) return st;
    offset += (shape[d] - 1) * st;
    return -st;
  });
  return gather(data, shape, offset, s);
}

/** Offset of the box starting at `origin` (leading axes beyond origin.length start at 0) in an array of `shape`. */
export function boxOffset(shape: readonly number[], origin: readonly number[]): number {
  const strides = stridesOf(shape);
  const lead = shape.length - origin.length;
  return origin.reduce((acc, o, a) => acc + o * strides[a + lead], 0);
}

/** The box of shape `boxShape` at `origin` (trailing axes) copied out of `data` of `shape`. */
export function cropBox<T extends TypedArray>(data: T, shape: readonly number[], origin: readonly number[], boxShape: readonly number[]): T {
  return gather(data, boxShape, boxOffset(shape, origin), stridesOf(shape));
}

/** Writes `box` (shape `boxShape`) into `target` (shape `shape`) at `origin` (trailing axes). */
export function pasteBox(target: TypedArray, shape: readonly number[], origin: readonly number[], box: TypedArray, boxShape: readonly number[]): void {
  if (box.length === 0) return;
  const inner = boxShape[boxShape.length - 1];
  forEachRow(boxShape, boxOffset(shape, origin), stridesOf(shape), (o, t) => target.set(box.subarray(o, o + inner), t));
}

/**
 * target[box at origin] += tile · weight (each product rounded to float32, as libtorch's in-place multiply), for a
 * tile [K, ...w] and a weight [...w] broadcast over K: the sliding window's accumulation.
 */
export function addWeightedBox(target: Float32Array, shape: readonly number[], origin: readonly number[], tile: Float32Array, tileShape: readonly number[], weight: Float32Array): void {
  const inner = tileShape[tileShape.length - 1];
  const wlen = weight.length;
  forEachRow(tileShape, boxOffset(shape, origin), stridesOf(shape), (o, t) => {
    const w0 = o % wlen;
    for (let i = 0; i < inner; i++) target[t + i] += Math.fround(tile[o + i] * weight[w0 + i]);
  });
}

/** target[box at origin] += values (same shape as the box). */
export function addBox(target: Float32Array, shape: readonly number[], origin: readonly number[], values: Float32Array, boxShape: readonly number[]): void {
  const inner = boxShape[boxShape.length - 1];
  forEachRow(boxShape, boxOffset(shape, origin), stridesOf(shape), (o, t) => {
    for (let i = 0; i < inner; i++) target[t + i] += values[o + i];
  });
}

/** `data` [lead..., ...spatial] zero-padded by `before`/`after` on the trailing axes. */
export function padZeros(data: Float32Array, shape: readonly number[], before: readonly number[], after: readonly number[]): { data: Float32Array; shape: number[] } {
  const lead = shape.length - before.length;
  const outShape = shape.map((s, d) => (d < lead ? s : s + before[d - lead] + after[d - lead]));
  if (outShape.every((s, d) => s === shape[d])) return { data, shape: outShape };
  const out = new Float32Array(voxels(outShape));
  pasteBox(out, outShape, [...shape.slice(0, lead).map(() => 0), ...before], data, shape);
  return { data: out, shape: outShape };
}

// nnU-Net's resample_data_or_seg_to_shape on typed arrays, the same maps as src/preprocessing/resampling.ts: each
// axis is one linear map W (interpolation.ts) applied along it, shrinking axes first; images are clipped to their
// input range (per slice when z is resized on its own), label maps are resized one label mask at a time.
import { resolveSeparateZ } from './geometry.js';
import { checkOrder, interpolationMatrix, nearestIndex } from './interpolation.js';
import { stridesOf, voxels } from './nd.js';

/** What resampling reads of a configuration's resampling_fn_*_kwargs. */
export interface ResamplingKwargs {
  is_seg: boolean;
  order: number;
  order_z: number;
  force_separate_z: boolean | null;
}

type FloatArray = Float32Array | Float64Array;

/** Entries of W below this are dropped: far below float32 resolution, and they make the spline maps banded. */
const NEGLIGIBLE = 1e-13;

interface BandedMatrix {
  nIn: number;
  w: Float64Array;
  lo: Int32Array;
  hi: Int32Array;
}

const matrixCache = new Map<string, BandedMatrix>();

function bandedMatrix(nIn: number, nOut: number, order: number): BandedMatrix {
  const key = `${nIn}:${nOut}:${order}`;
  let m = matrixCache.get(key);
  if (m === undefined) {
    if (matrixCache.size >= 256) matrixCache.clear();
    const w = interpolationMatrix(nIn, nOut, order);
    const lo = new Int32Array(nOut);
    const hi = new Int32Array(nOut);
    for (let i = 0; i < nOut; i++) {
      let a = 0;
      let b = nIn;
      while (a < b && Math.abs(w[i * nIn + a]) < NEGLIGIBLE) a++;
      while (b > a && Math.abs(w[i * nIn + b - 1]) < NEGLIGIBLE) b--;
      lo[i] = a;
      hi[i] = b;
    }
    m = { nIn, w, lo, hi };
    matrixCache.set(key, m);
  }
  return m;
}

/** `data` of `shape` resized along `axis` to `nOut` samples (float64 accumulation, stored in data's type). */
function resizeAxis<T extends FloatArray>(data: T, shape: readonly number[], axis: number, nOut: number, order: number): T {
  const nIn = shape[axis];
  const inner = stridesOf(shape)[axis];
  const outer = voxels(shape) / (nIn * inner);
  const { w, lo, hi } = bandedMatrix(nIn, nOut, order);
  const out = new (data.constructor as new (n: number) => T)(outer * nOut * inner);
  const acc = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    const src = o * nIn * inner;
    for (let i = 0; i < nOut; i++) {
      const row = i * nIn;
      const dst = (o * nOut + i) * inner;
      if (inner === 1) {
        let v = 0;
        for (let k = lo[i]; k < hi[i]; k++) v += w[row + k] * data[src + k];
        out[dst] = v;
        continue;
      }
      acc.fill(0);
      for (let k = lo[i]; k < hi[i]; k++) {
        const wk = w[row + k];
        const base = src + k * inner;
        for (let r = 0; r < inner; r++) acc[r] += wk * data[base + r];
      }
      for (let r = 0; r < inner; r++) out[dst + r] = acc[r];
    }
  }
  return out;
}

/** Resizes the listed axes of `shape` to `target` (full shape), shrinking axes first, as the libtorch resampler. */
function resizeAxes<T extends FloatArray>(data: T, shape: readonly number[], axes: readonly number[], target: readonly number[], order: number): { data: T; shape: number[] } {
  const todo = axes.filter((a) => shape[a] !== target[a]).sort((a, b) => target[a] / shape[a] - target[b] / shape[b]);
  let out = data;
  const outShape = [...shape];
  for (const a of todo) {
    out = resizeAxis(out, outShape, a, target[a], order);
    outShape[a] = target[a];
  }
  return { data: out, shape: outShape };
}

/** Per-axis steps of the group index (nonzero on the `keep` axes only) and the number of groups. */
function groupStrides(shape: readonly number[], keep: readonly number[]): { steps: number[]; count: number } {
  const steps = shape.map(() => 0);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (!keep.includes(d)) continue;
    steps[d] = s;
    s *= shape[d];
  }
  return { steps, count: s };
}

/** Advances a C-order coordinate by one voxel and returns the group index's change. */
function advance(coord: number[], shape: readonly number[], steps: readonly number[]): number {
  let delta = 0;
  for (let d = shape.length - 1; d >= 0; d--) {
    delta += steps[d];
    if (++coord[d] < shape[d]) break;
    delta -= steps[d] * shape[d];
    coord[d] = 0;
  }
  return delta;
}

/**
 * Clamps `out` to the value range `input` has in each group of voxels that agree on the `keep` axes (the same size
 * on those axes): skimage's clip to the input range, per channel or per slice.
 */
function clipToInputRange(out: FloatArray, outShape: readonly number[], input: FloatArray, inShape: readonly number[], keep: readonly number[]): void {
  const inGroups = groupStrides(inShape, keep);
  const min = new Float64Array(inGroups.count).fill(Infinity);
  const max = new Float64Array(inGroups.count).fill(-Infinity);
  let coord = inShape.map(() => 0);
  for (let i = 0, g = 0; i < input.length; i++) {
    const v = input[i];
    if (v < min[g]) min[g] = v;
    if (v > max[g]) max[g] = v;
    g += advance(coord, inShape, inGroups.steps);
  }
  const outSteps = groupStrides(outShape, keep).steps;
  coord = outShape.map(() => 0);
  for (let i = 0, g = 0; i < out.length; i++) {
    const v = out[i];
    if (v < min[g]) out[i] = min[g];
    else if (v > max[g]) out[i] = max[g];
    g += advance(coord, outShape, outSteps);
  }
}

function checkArgs(shape: readonly number[], newShape: readonly number[], currentSpacing: readonly number[], newSpacing: readonly number[]): void {
  const spatial = shape.length - 1;
  if (newShape.length !== spatial || currentSpacing.length !== spatial || newSpacing.length !== spatial) {
    throw new Error(`resample: [C, ...spatial] array of shape [${shape}] needs ${spatial} entries in newShape [${newShape}], currentSpacing [${currentSpacing}] and newSpacing [${newSpacing}]`);
  }
  if (newShape.some((s) => !Number.isInteger(s) || s < 1)) throw new Error(`resample: invalid new shape [${newShape}]`);
}

/** The array axis resized on its own (null: all together), or undefined when nothing changes. */
function separateAxis(shape: readonly number[], newShape: readonly number[], currentSpacing: readonly number[], newSpacing: readonly number[], kwargs: ResamplingKwargs): number | null | undefined {
  checkArgs(shape, newShape, currentSpacing, newSpacing);
  checkOrder(kwargs.order);
  if (newShape.every((s, i) => s === shape[i + 1])) return undefined;
  const { separateZ, axis } = resolveSeparateZ(currentSpacing, newSpacing, kwargs.force_separate_z);
  return separateZ && axis !== null ? axis + 1 : null;
}

/**
 * Images (or probabilities) [C, ...spatial], float32: spline-resized and clipped to each channel's input range (each
 * slice's when z is resized separately). Returns `data` itself when the shape does not change.
 */
export function resampleData(data: Float32Array, shape: readonly number[], newShape: readonly number[], currentSpacing: readonly number[], newSpacing: readonly number[], kwargs: ResamplingKwargs): { data: Float32Array; shape: number[] } {
  const z = separateAxis(shape, newShape, currentSpacing, newSpacing, kwargs);
  if (z === undefined) return { data, shape: [...shape] };
  const target = [shape[0], ...newShape];
  const spatial = newShape.map((_, i) => i + 1);
  if (z === null) {
    const out = resizeAxes(data, shape, spatial, target, kwargs.order);
    clipToInputRange(out.data, out.shape, data, shape, [0]);
    return out;
  }
  const inPlane = resizeAxes(data, shape, spatial.filter((d) => d !== z), target, kwargs.order);
  clipToInputRange(inPlane.data, inPlane.shape, data, shape, [0, z]);
  return resizeAxes(inPlane.data, inPlane.shape, [z], target, kwargs.order_z);
}

type LabelArray = Int8Array | Uint8Array | Int16Array | Int32Array;

/** One mask per label present, resized and thresholded (>= 0.5, or > 0.5 when `strict`); higher labels win. */
function resizeLabels<T extends LabelArray>(seg: T, shape: readonly number[], axes: readonly number[], target: readonly number[], order: number, strict: boolean): { data: T; shape: number[] } {
  const labels = [...new Set(seg)].sort((a, b) => a - b);
  const outShape = shape.map((s, d) => (axes.includes(d) ? target[d] : s));
  const out = new (seg.constructor as new (n: number) => T)(voxels(outShape));
  const mask = new Float64Array(seg.length);
  for (const label of labels) {
    for (let i = 0; i < seg.length; i++) mask[i] = seg[i] === label ? 1 : 0;
    const resized = resizeAxes(mask, shape, axes, target, order).data;
    for (let i = 0; i < resized.length; i++) if (strict ? resized[i] > 0.5 : resized[i] >= 0.5) out[i] = label;
  }
  return { data: out, shape: outShape };
}

/**
 * Label maps [C, ...spatial]: every label present (ascending, -1 included) is resized as a float64 mask and written
 * where it reaches 0.5. With separate z the low-resolution axis is nearest neighbour (order_z 0) or the masks again
 * with > 0.5. Returns `seg` itself when the shape does not change.
 */
export function resampleSeg<T extends LabelArray>(seg: T, shape: readonly number[], newShape: readonly number[], currentSpacing: readonly number[], newSpacing: readonly number[], kwargs: ResamplingKwargs): { data: T; shape: number[] } {
  const z = separateAxis(shape, newShape, currentSpacing, newSpacing, kwargs);
  if (z === undefined) return { data: seg, shape: [...shape] };
  const target = [shape[0], ...newShape];
  const spatial = newShape.map((_, i) => i + 1);
  if (z === null) return resizeLabels(seg, shape, spatial, target, kwargs.order, false);
  const inPlane = resizeLabels(seg, shape, spatial.filter((d) => d !== z), target, kwargs.order, false);
  if (inPlane.shape[z] === target[z]) return inPlane;
  if (kwargs.order_z !== 0) return resizeLabels(inPlane.data, inPlane.shape, [z], target, kwargs.order_z, true);
  const n = inPlane.shape[z];
  const outShape = [...inPlane.shape];
  outShape[z] = target[z];
  const inner = stridesOf(inPlane.shape)[z];
  const outer = voxels(inPlane.shape) / (n * inner);
  const out = new (seg.constructor as new (len: number) => T)(voxels(outShape));
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < target[z]; i++) {
      const src = (o * n + nearestIndex(i, n, target[z])) * inner;
      out.set(inPlane.data.subarray(src, src + inner), (o * target[z] + i) * inner);
    }
  }
  return { data: out, shape: outShape };
}

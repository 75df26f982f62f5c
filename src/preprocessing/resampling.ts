/**
 * nnU-Net's `resample_data_or_seg_to_shape` (`preprocessing/resampling/default_resampling.py`) on libtorch.
 *
 * Upstream resizes images with skimage `resize(order, mode='edge', anti_aliasing=False)`, which is
 * `scipy.ndimage.zoom(grid_mode=True, mode='nearest')` followed by clipping to the input's value range. A
 * tensor-product B-spline resize is separable, so each axis is one fixed linear map out = W·in with
 * W = evaluate · prefilter · edge-pad. W is built here in float64 (it is small: nOut x nIn) and applied along
 * its axis with one matmul. Segmentations are resized one label at a time as `resize_segmentation` does
 * (order-n resize of the label's mask, threshold 0.5, higher labels win), and the anisotropic "separate z"
 * case resizes in-plane first and then along the low-resolution axis with `order_z` (nearest by default).
 */
import { resolveSeparateZ } from '../planning/experiment-planner.js';
import type { ResamplingKwargs } from '../planning/plans-schema.js';
import { type DType, Tensor, tensor, tidy, where, zeros } from '../torch/index.js';

/** Poles of the B-spline prefilter per order (Unser 1991; the values scipy.ndimage uses). */
const PREFILTER_POLES: Record<number, number[]> = {
  2: [Math.sqrt(8) - 3],
  3: [Math.sqrt(3) - 2],
  4: [
    Math.sqrt(664 - Math.sqrt(438976)) + Math.sqrt(304) - 19,
    Math.sqrt(664 + Math.sqrt(438976)) - Math.sqrt(304) - 19,
  ],
  5: [
    Math.sqrt(135 / 2 - Math.sqrt(17745 / 4)) + Math.sqrt(105 / 4) - 13 / 2,
    Math.sqrt(135 / 2 + Math.sqrt(17745 / 4)) - Math.sqrt(105 / 4) - 13 / 2,
  ],
};

/** scipy pads by 12 samples (edge mode) before prefiltering so that its boundary handling acts far outside. */
const SPLINE_PAD = 12;

function checkOrder(order: number): void {
  if (!Number.isInteger(order) || order < 0 || order > 5) throw new RangeError(`spline order must be 0..5, got ${order}`);
}

function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}

/** Centred B-spline of degree `order` at x (the interpolation kernel). */
function bspline(x: number, order: number): number {
  if (order === 1) return Math.max(0, 1 - Math.abs(x)); // written as scipy does, for bit-equal linear weights
  let sum = 0;
  for (let j = 0; j <= order + 1; j++) {
    const t = x + (order + 1) / 2 - j;
    if (t > 0) sum += (j % 2 === 0 ? 1 : -1) * binomial(order + 1, j) * t ** order;
  }
  let factorial = 1;
  for (let i = 2; i <= order; i++) factorial *= i;
  return sum / factorial;
}

/** In-place B-spline prefilter (causal + anticausal recursion per pole, mirror boundary). */
function prefilter(c: Float64Array, order: number): void {
  const n = c.length;
  const poles = PREFILTER_POLES[order];
  if (n === 1) return;
  const gain = poles.reduce((g, z) => g * (1 - z) * (1 - 1 / z), 1);
  for (let i = 0; i < n; i++) c[i] *= gain;
  for (const z of poles) {
    let zk = z;
    let s = c[0];
    for (let k = 1; k < n; k++) {
      s += zk * c[k];
      zk *= z;
    }
    c[0] = s;
    for (let k = 1; k < n; k++) c[k] += z * c[k - 1];
    c[n - 1] = (z / (z * z - 1)) * (z * c[n - 2] + c[n - 1]);
    for (let k = n - 2; k >= 0; k--) c[k] = z * (c[k + 1] - c[k]);
  }
}

/** Input coordinate of output sample i (pixel centres aligned, as zoom's grid_mode and nnU-Net's map_coordinates). */
function sourceCoordinate(i: number, nIn: number, nOut: number): number {
  return (nIn / nOut) * (i + 0.5) - 0.5;
}

/**
 * The nOut x nIn matrix (row-major, float64) of a 1D resize with a B-spline of `order`, equal to
 * `scipy.ndimage.zoom(x, nOut/nIn, order, mode='nearest', grid_mode=True)` and to
 * `map_coordinates(x, (nIn/nOut)*(i+0.5)-0.5, order, mode='nearest')`.
 */
export function interpolationMatrix(nIn: number, nOut: number, order: number): Float64Array {
  checkOrder(order);
  const w = new Float64Array(nOut * nIn);
  if (order === 0) {
    for (let i = 0; i < nOut; i++) w[i * nIn + nearestIndex(i, nIn, nOut)] = 1;
    return w;
  }
  const pad = order > 1 ? SPLINE_PAD : 0;
  const len = nIn + 2 * pad;
  const coeffs = new Float64Array(len);
  // Taps and weights of every output sample in the padded coefficient array.
  const taps: { start: number; weights: number[] }[] = [];
  for (let i = 0; i < nOut; i++) {
    // scipy clamps the coordinate into the (padded) input first ('nearest' mode), then takes order+1 taps
    // whose weights sum to exactly 1 (the last weight is 1 minus the others).
    const cc = Math.min(Math.max(sourceCoordinate(i, nIn, nOut) + pad, 0), len - 1);
    const start = (order % 2 === 1 ? Math.floor(cc) : Math.floor(cc + 0.5)) - Math.floor(order / 2);
    const weights = Array.from({ length: order }, (_, t) => bspline(cc - (start + t), order));
    weights.push(1 - weights.reduce((a, b) => a + b, 0));
    taps.push({ start, weights });
  }
  for (let k = 0; k < nIn; k++) {
    // Coefficients of the edge-padded unit vector e_k.
    coeffs.fill(0);
    if (k === 0) coeffs.fill(1, 0, pad + 1);
    if (k === nIn - 1) coeffs.fill(1, pad + nIn - 1, len);
    coeffs[pad + k] = 1;
    if (order > 1) prefilter(coeffs, order);
    for (let i = 0; i < nOut; i++) {
      const { start, weights } = taps[i];
      let v = 0;
      for (let t = 0; t <= order; t++) v += weights[t] * coeffs[Math.min(Math.max(start + t, 0), len - 1)];
      w[i * nIn + k] = v;
    }
  }
  return w;
}

/** Order-0 source index of output sample i: round half up, clamped (scipy's order-0 rule). */
function nearestIndex(i: number, nIn: number, nOut: number): number {
  return Math.min(Math.max(Math.floor(sourceCoordinate(i, nIn, nOut) + 0.5), 0), nIn - 1);
}

const matrixCache = new Map<string, Float64Array>();

/** The transposed matrix (nIn x nOut) as a tensor of `dtype`, built once per size and order. */
function matrixTensor(nIn: number, nOut: number, order: number, dtype: DType): Tensor {
  const key = `${nIn}:${nOut}:${order}`;
  let w = matrixCache.get(key);
  if (w === undefined) {
    if (matrixCache.size >= 256) matrixCache.clear();
    w = interpolationMatrix(nIn, nOut, order);
    matrixCache.set(key, w);
  }
  return tensor(w, [nOut, nIn], 'float64').transpose(0, 1).to(dtype);
}

/** Resizes the listed spatial axes (1-based dims of [C, ...spatial]) to `newShape`, shrinking axes first. */
function resizeAxes(x: Tensor, axes: number[], newShape: readonly number[], order: number): Tensor {
  const todo = axes
    .filter((a) => x.size(a) !== newShape[a - 1])
    .sort((a, b) => newShape[a - 1] / x.size(a) - newShape[b - 1] / x.size(b));
  let out = x;
  for (const a of todo) {
    const m = matrixTensor(out.size(a), newShape[a - 1], order, x.dtype);
    out = out.movedim(a, -1).matmul(m).movedim(-1, a);
  }
  return out.contiguous();
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function checkArgs(x: Tensor, newShape: readonly number[], currentSpacing: readonly number[], newSpacing: readonly number[]): void {
  const spatial = x.ndim - 1;
  if (newShape.length !== spatial || currentSpacing.length !== spatial || newSpacing.length !== spatial) {
    throw new Error(
      `resample: [C, ...spatial] tensor of shape [${x.shape}] needs ${spatial} entries in newShape [${newShape}], ` +
        `currentSpacing [${currentSpacing}] and newSpacing [${newSpacing}]`,
    );
  }
  if (newShape.some((s) => !Number.isInteger(s) || s < 1)) throw new Error(`resample: invalid new shape [${newShape}]`);
}

/**
 * What both resamplers start with: the argument checks and nnU-Net's separate-z decision. Null when the shape does
 * not change; otherwise the tensor's spatial dims and the dim resized on its own (null: all together).
 */
function resamplingPlan(
  x: Tensor,
  newShape: readonly number[],
  currentSpacing: readonly number[],
  newSpacing: readonly number[],
  kwargs: Pick<ResamplingKwargs, 'order' | 'force_separate_z'>,
): { spatialDims: number[]; z: number | null } | null {
  checkArgs(x, newShape, currentSpacing, newSpacing);
  checkOrder(kwargs.order);
  if (sameShape(x.shape.slice(1), newShape)) return null;
  const spatialDims = x.shape.slice(1).map((_, i) => i + 1);
  const { separateZ, axis } = resolveSeparateZ(currentSpacing, newSpacing, kwargs.force_separate_z);
  return { spatialDims, z: separateZ && axis !== null ? axis + 1 : null };
}

/**
 * Images (or probabilities) [C, ...spatial], float: `resample_data_or_seg_to_shape` with is_seg false. Each
 * channel is spline-resized and clipped to its input range (per slice when resizing separately along z).
 * Returns `data` itself when the shape does not change.
 */
export function resampleData(
  data: Tensor,
  newShape: readonly number[],
  currentSpacing: readonly number[],
  newSpacing: readonly number[],
  kwargs: Pick<ResamplingKwargs, 'order' | 'order_z' | 'force_separate_z'>,
): Tensor {
  const plan = resamplingPlan(data, newShape, currentSpacing, newSpacing, kwargs);
  if (!plan) return data;
  const { spatialDims, z } = plan;
  return tidy(() => {
    if (z === null) {
      const resized = resizeAxes(data, spatialDims, newShape, kwargs.order);
      return resized.maximum(data.amin(spatialDims, true)).minimum(data.amax(spatialDims, true));
    }
    const inPlane = spatialDims.filter((d) => d !== z);
    // skimage clips every 2D slice to that slice's own range.
    const resized = resizeAxes(data, inPlane, newShape, kwargs.order)
      .maximum(data.amin(inPlane, true))
      .minimum(data.amax(inPlane, true));
    return resizeAxes(resized, [z], newShape, kwargs.order_z);
  });
}

/**
 * Label maps [C, ...spatial], integer: `resample_data_or_seg_to_shape` with is_seg true. Every label present
 * (ascending, -1 included) is resized as a float64 mask and written where the mask reaches 0.5, so higher
 * labels overwrite lower ones and voxels no label reaches stay 0. With separate z, the low-resolution axis
 * uses nearest neighbour (order_z 0) or, for order_z > 0, the masks again with a threshold of > 0.5.
 * Returns `seg` itself when the shape does not change.
 */
export function resampleSeg(
  seg: Tensor,
  newShape: readonly number[],
  currentSpacing: readonly number[],
  newSpacing: readonly number[],
  kwargs: Pick<ResamplingKwargs, 'order' | 'order_z' | 'force_separate_z'>,
): Tensor {
  const plan = resamplingPlan(seg, newShape, currentSpacing, newSpacing, kwargs);
  if (!plan) return seg;
  const { spatialDims, z } = plan;
  return tidy(() => {
    if (z === null) return resizeLabels(seg, spatialDims, newShape, kwargs.order, false);
    const inPlane = resizeLabels(seg, spatialDims.filter((d) => d !== z), newShape, kwargs.order, false);
    const zSize = newShape[z - 1];
    if (inPlane.size(z) === zSize) return inPlane;
    if (kwargs.order_z === 0) {
      const n = inPlane.size(z);
      const index = Array.from({ length: zSize }, (_, i) => nearestIndex(i, n, zSize));
      return inPlane.indexSelect(z, tensor(index, [index.length], 'int64')).contiguous();
    }
    return resizeLabels(inPlane, [z], newShape, kwargs.order_z, true);
  });
}

/** One mask per label present, resized and thresholded (>= 0.5, or > 0.5 as np.round(...) > 0.5 when `strict`). */
function resizeLabels(seg: Tensor, axes: number[], newShape: readonly number[], order: number, strict: boolean): Tensor {
  const labels = seg.unique().values.toArray();
  const outShape = seg.shape.map((s, d) => (axes.includes(d) ? newShape[d - 1] : s));
  let out = zeros(outShape, seg.dtype);
  for (const label of labels) {
    tidy(() => {
      const mask = resizeAxes(seg.eq(label).to('float64'), axes, newShape, order);
      const next = where(strict ? mask.gt(0.5) : mask.ge(0.5), label, out);
      out.dispose();
      out = next;
      return next;
    });
  }
  return out;
}

/** `resample_data_or_seg_to_shape`: dispatches on `kwargs.is_seg`. */
export function resampleToShape(
  x: Tensor,
  newShape: readonly number[],
  currentSpacing: readonly number[],
  newSpacing: readonly number[],
  kwargs: ResamplingKwargs,
): Tensor {
  return kwargs.is_seg
    ? resampleSeg(x, newShape, currentSpacing, newSpacing, kwargs)
    : resampleData(x, newShape, currentSpacing, newSpacing, kwargs);
}


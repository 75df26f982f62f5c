/**
 * nnU-Net's `resample_data_or_seg_to_shape` (`preprocessing/resampling/default_resampling.py`) on libtorch.
 *
 * Upstream resizes images with skimage `resize(order, mode='edge', anti_aliasing=False)`, which is
 * `scipy.ndimage.zoom(grid_mode=True, mode='nearest')` followed by clipping to the input's value range. A
 * tensor-product B-spline resize is separable, so each axis is one fixed linear map out = W·in with
 * W = evaluate · prefilter · edge-pad. W is built in float64 by src/portable/interpolation.ts (shared with the
 * browser-side resampler; it is small: nOut x nIn) and applied along
 * its axis with one matmul. Segmentations are resized one label at a time as `resize_segmentation` does
 * (order-n resize of the label's mask, threshold 0.5, higher labels win), and the anisotropic "separate z"
 * case resizes in-plane first and then along the low-resolution axis with `order_z` (nearest by default).
 */
import { resolveSeparateZ } from '../planning/experiment-planner.js';
import type { ResamplingKwargs } from '../planning/plans-schema.js';
import { checkOrder, interpolationMatrix, nearestIndex } from '../portable/interpolation.js';
import { type DType, Tensor, tensor, tidy, where, zeros } from '../torch/index.js';

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


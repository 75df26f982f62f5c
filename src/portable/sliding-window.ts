// nnU-Net's sliding-window prediction (predict_sliding_window_return_logits) on typed arrays for any model runner:
// pad to at least the patch, tile with `stepSize` overlap (src/inference/tiles.ts), mirror each tile for test-time
// augmentation, weight by the Gaussian map, divide by the summed weights, remove the padding. A 2D patch on 3D data
// predicts every slice along the first spatial axis. Float32 arithmetic in libtorch's order, so only the network's
// own outputs differ between backends.
import { padToTile, slidingWindowSteps, tileOrigins } from '../inference/tiles.js';
import { gaussianMap } from './gaussian.js';
import { addBox, addWeightedBox, cropBox, flip, padZeros, voxels } from './nd.js';

/** A network behind any runtime: [N, C, ...spatial] float32 in, logits [N, K, ...spatial] out. */
export interface ModelRunner {
  run(input: Float32Array, shape: number[]): Promise<Float32Array>;
}

export interface SlidingWindowOptions {
  patchSize: readonly number[];
  numClasses: number;
  /** Fraction of the patch between neighbouring tile starts (at most), in (0, 1]. */
  stepSize: number;
  /** Patch axes (0-based) mirrored for test-time augmentation; [] disables it. */
  mirrorAxes: readonly number[];
  /** Called after each tile. */
  onTile?: () => void;
}

/** Every non-empty subset of `axes`, smallest first (itertools.combinations order, as nnU-Net). */
export function mirrorCombinations(axes: readonly number[]): number[][] {
  const out: number[][] = [];
  const choose = (k: number, start: number, prefix: number[]): void => {
    if (prefix.length === k) {
      out.push(prefix);
      return;
    }
    for (let i = start; i < axes.length; i++) choose(k, i + 1, [...prefix, axes[i]]);
  };
  for (let k = 1; k <= axes.length; k++) choose(k, 0, []);
  return out;
}

/** The tile windows (slice axes of 2D-on-3D get a window of 1), the padding and the tile origins of a case. */
export function tilePlan(spatial: readonly number[], patchSize: readonly number[], stepSize: number) {
  const sliceAxes = spatial.length - patchSize.length;
  if (sliceAxes !== 0 && sliceAxes !== 1) throw new RangeError(`data with spatial shape [${spatial.join(', ')}] does not fit patch [${patchSize.join(', ')}]`);
  const window = [...spatial.slice(0, sliceAxes).map(() => 1), ...patchSize];
  const pad = padToTile(spatial, window);
  const steps = [...pad.shape.slice(0, sliceAxes).map((n) => Array.from({ length: n }, (_, i) => i)), ...slidingWindowSteps(pad.shape.slice(sliceAxes), patchSize, stepSize)];
  return { window, pad, origins: tileOrigins(steps) };
}

async function runChecked(runner: ModelRunner, tile: Float32Array, shape: number[], expected: number): Promise<Float32Array> {
  const out = await runner.run(tile, shape);
  if (out.length !== expected) throw new Error(`the model returned ${out.length} values for tile [${shape.join(', ')}], expected ${expected}`);
  return out;
}

/** Logits of one tile [C, ...patch] averaged over the plain and every mirrored pass (each flipped back). */
async function predictTile(runner: ModelRunner, tile: Float32Array, channels: number, numClasses: number, patchSize: readonly number[], mirrorAxes: readonly number[]): Promise<Float32Array> {
  const inShape = [channels, ...patchSize];
  const outShape = [numClasses, ...patchSize];
  const expected = voxels(outShape);
  const sum = Float32Array.from(await runChecked(runner, tile, [1, ...inShape], expected));
  const combos = mirrorCombinations(mirrorAxes);
  for (const axes of combos) {
    const dims = axes.map((a) => a + 1);
    const out = flip(await runChecked(runner, flip(tile, inShape, dims), [1, ...inShape], expected), outShape, dims);
    for (let i = 0; i < sum.length; i++) sum[i] += out[i];
  }
  if (combos.length) for (let i = 0; i < sum.length; i++) sum[i] /= combos.length + 1;
  return sum;
}

/** Logits [K, ...spatial] (float32) of a preprocessed case `data` [C, ...spatial]. */
export async function slidingWindowLogits(runner: ModelRunner, data: Float32Array, shape: readonly number[], o: SlidingWindowOptions): Promise<Float32Array> {
  const [channels, ...spatial] = shape;
  const bad = o.mirrorAxes.filter((a) => !Number.isInteger(a) || a < 0 || a >= o.patchSize.length);
  if (bad.length) throw new RangeError(`mirror axes [${bad.join(', ')}] do not exist in a ${o.patchSize.length}D patch`);
  const { window, pad, origins } = tilePlan(spatial, o.patchSize, o.stepSize);
  const padded = padZeros(data, shape, pad.before, pad.after);
  const gaussian = gaussianMap(o.patchSize);
  const K = o.numClasses;
  const logitsShape = [K, ...pad.shape];
  const logits = new Float32Array(voxels(logitsShape));
  const weights = new Float32Array(voxels(pad.shape));
  for (const origin of origins) {
    const tile = cropBox(padded.data, padded.shape, origin, [channels, ...window]);
    const prediction = await predictTile(runner, tile, channels, K, o.patchSize, o.mirrorAxes);
    addWeightedBox(logits, logitsShape, origin, prediction, [K, ...window], gaussian);
    addBox(weights, pad.shape, origin, gaussian, window);
    o.onTile?.();
  }
  const n = weights.length;
  for (let k = 0; k < K; k++) for (let i = 0; i < n; i++) logits[k * n + i] /= weights[i];
  return cropBox(logits, logitsShape, pad.before, [K, ...spatial]);
}

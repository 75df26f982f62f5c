// Sliding-window inference over a whole preprocessed case: overlapping tiles, batched through the network (with
// mirroring test-time augmentation), weighted by the Gaussian importance map and accumulated into one float32 buffer
// on the CPU, so memory is bounded by the output plus one batch of tiles.
import { type Device, type Tensor, noGrad, stack, tidy, zeros } from '../torch/index.js';
import { gaussianImportanceMap } from './gaussian.js';
import { padToTile, slidingWindowSteps, tileOrigins } from './tiles.js';

/** What the sliding window needs of a network: [B, C, ...patch] in, logits [B, K, ...patch] (or a list, first used) out. */
export interface SegmentationNetwork {
  forward(x: Tensor): Tensor | Tensor[];
  eval(): unknown;
}

export interface SlidingWindowOptions {
  /** Tile size; one axis shorter than the data's spatial axes means a 2D configuration applied slice by slice. */
  patchSize: number[];
  numClasses: number;
  /** Fraction of the tile between neighbouring tile starts (at most). Default 0.5. */
  stepSize?: number;
  /** Patch axes (0-based) that may be mirrored for test-time augmentation; [] disables it. Default []. */
  mirrorAxes?: number[];
  /** Tiles per forward pass. Default 1. */
  tileBatchSize?: number;
  /** Where the network runs (it must already be there). Default 'cpu'. */
  device?: Device;
  /** Called after each batch with the number of tiles done and the total. */
  onBatch?: (done: number, total: number) => void;
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

function logitsOf(network: SegmentationNetwork, x: Tensor): Tensor {
  const out = network.forward(x);
  return Array.isArray(out) ? out[0] : out;
}

/**
 * Logits for a batch of tiles [B, C, ...patch], averaged over the unflipped pass and every mirrored pass
 * (each flipped back), as nnU-Net's _internal_maybe_mirror_and_predict.
 */
export function predictWithMirroring(network: SegmentationNetwork, tiles: Tensor, mirrorAxes: readonly number[]): Tensor {
  return tidy(() => {
    const spatial = tiles.ndim - 2;
    const bad = mirrorAxes.filter((a) => !Number.isInteger(a) || a < 0 || a >= spatial);
    if (bad.length) throw new RangeError(`mirror axes [${bad.join(', ')}] do not exist in a ${spatial}D patch`);
    // each pass in its own scope: a pass's activations are freed before the next pass starts
    const sum = tidy(() => logitsOf(network, tiles).float());
    const combos = mirrorCombinations(mirrorAxes);
    for (const axes of combos) {
      tidy(() => {
        const dims = axes.map((a) => a + 2);
        sum.add_(logitsOf(network, tiles.flip(dims)).flip(dims));
      });
    }
    return combos.length ? sum.div_(combos.length + 1) : sum;
  });
}

/**
 * Logits [K, ...spatial] (float32, CPU) for a preprocessed case `data` [C, ...spatial] (CPU), as nnU-Net's
 * predict_sliding_window_return_logits: pad to at least the patch, tile with `stepSize` overlap, weight each tile's
 * prediction by the Gaussian map, divide by the summed weights, remove the padding. A 2D patch on 3D data predicts
 * every slice along the first spatial axis.
 */
export function predictSlidingWindow(network: SegmentationNetwork, data: Tensor, options: SlidingWindowOptions): Tensor {
  const { patchSize, numClasses, stepSize = 0.5, mirrorAxes = [], tileBatchSize = 1, device = 'cpu' } = options;
  const spatial = data.shape.slice(1);
  const sliceAxes = spatial.length - patchSize.length;
  if (data.ndim < 3 || (sliceAxes !== 0 && sliceAxes !== 1)) {
    throw new RangeError(`data [${data.shape.join(', ')}] must be [C, ...spatial] with ${patchSize.length} or ${patchSize.length + 1} spatial axes for patch [${patchSize.join(', ')}]`);
  }
  if (!Number.isInteger(tileBatchSize) || tileBatchSize < 1) throw new RangeError(`tile batch size must be a positive integer, got ${tileBatchSize}`);
  network.eval();
  return noGrad(() =>
    tidy(() => {
      // In 2D mode the slice axis gets a window of 1: never padded, one tile row per slice.
      const window = [...spatial.slice(0, sliceAxes).map(() => 1), ...patchSize];
      const pad = padToTile(spatial, window);
      const padded = data.float().pad(reversePairs(pad.before, pad.after)).to(device);
      const steps = [
        ...pad.shape.slice(0, sliceAxes).map((n) => Array.from({ length: n }, (_, i) => i)),
        ...slidingWindowSteps(pad.shape.slice(sliceAxes), patchSize, stepSize),
      ];
      const origins = tileOrigins(steps);
      const gaussianCpu = gaussianImportanceMap(patchSize);
      const gaussian = gaussianCpu.to(device);
      const logits = zeros([numClasses, ...pad.shape]);
      const weights = zeros(pad.shape);
      const region = (t: Tensor, origin: number[], offset: number) =>
        origin.reduce((view, o, a) => view.slice(a + offset, o, o + window[a]), t);

      for (let start = 0; start < origins.length; start += tileBatchSize) {
        tidy(() => {
          const batchOrigins = origins.slice(start, start + tileBatchSize);
          const tiles = stack(batchOrigins.map((o) => region(padded, o, 1).reshape([data.size(0), ...patchSize])));
          const prediction = predictWithMirroring(network, tiles, mirrorAxes);
          const expected = [batchOrigins.length, numClasses, ...patchSize];
          if (prediction.shape.join() !== expected.join()) {
            throw new Error(`network returned [${prediction.shape.join(', ')}] for tiles [${tiles.shape.join(', ')}], expected [${expected.join(', ')}]`);
          }
          const weighted = prediction.mul_(gaussian).to('cpu');
          batchOrigins.forEach((o, b) => {
            region(logits, o, 1).add_(weighted.select(0, b).reshape([numClasses, ...window]));
            region(weights, o, 0).add_(gaussianCpu.reshape(window));
          });
        });
        options.onBatch?.(Math.min(start + tileBatchSize, origins.length), origins.length);
      }
      logits.div_(weights);
      return spatial.reduce((view, size, a) => view.slice(a + 1, pad.before[a], pad.before[a] + size), logits).contiguous();
    }),
  );
}

/** torch's pad list (last axis first, before/after pairs) from per-axis paddings in array order. */
function reversePairs(before: readonly number[], after: readonly number[]): number[] {
  return before.flatMap((_, i) => {
    const a = before.length - 1 - i;
    return [before[a], after[a]];
  });
}

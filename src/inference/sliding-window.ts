// Sliding-window inference over a whole preprocessed case: overlapping tiles, batched through the network (with
// mirroring test-time augmentation), weighted by the Gaussian importance map and accumulated in float32 on the CPU.
// Tiles are visited with the first spatial axis slowest, so rows along it are final once the window has passed
// them: the accumulator only spans one window of rows, and finished rows leave as slabs. Memory is bounded by the
// output (or by what the slab consumer keeps) plus one window of rows and one batch of tiles.
import { mirrorCombinations } from '../portable/sliding-window.js';
import { type Device, type Tensor, ampDefault, configureCudnn, empty, maybeAutocast, noGrad, stack, tidy, zeros } from '../torch/index.js';
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
  /** Forward passes under autocast (float16 on CUDA), as upstream's predictor. Default: on for CUDA, off for CPU. */
  amp?: boolean;
  /** cuDNN's deterministic algorithms instead of benchmarking (CUDA only). Default false. */
  deterministic?: boolean;
  /** Called after each batch with the number of tiles done and the total. */
  onBatch?: (done: number, total: number) => void;
}

/** Rows per emitted slab: bounds what a consumer's per-slab work (softmax, argmax) allocates. */
const SLAB_ROWS = 16;

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
  return tidy(() => {
    const out = empty([options.numClasses, ...data.shape.slice(1)]);
    forEachLogitSlab(network, data, options, (start, slab) => out.slice(1, start, start + slab.size(1)).copy_(slab));
    return out;
  });
}

/**
 * The sliding window's logits in slabs along the first spatial axis, in order: `emit(start, slab)` gets rows
 * [start, start + rows) of what predictSlidingWindow returns, as [K, rows, ...other spatial axes] (float32, CPU,
 * the same values bit for bit). The slab is freed after emit returns.
 */
export function forEachLogitSlab(network: SegmentationNetwork, data: Tensor, options: SlidingWindowOptions, emit: (start: number, slab: Tensor) => void): void {
  const { patchSize, numClasses, stepSize = 0.5, mirrorAxes = [], tileBatchSize = 1, device = 'cpu' } = options;
  const spatial = data.shape.slice(1);
  const sliceAxes = spatial.length - patchSize.length;
  if (data.ndim < 3 || (sliceAxes !== 0 && sliceAxes !== 1)) {
    throw new RangeError(`data [${data.shape.join(', ')}] must be [C, ...spatial] with ${patchSize.length} or ${patchSize.length + 1} spatial axes for patch [${patchSize.join(', ')}]`);
  }
  if (!Number.isInteger(tileBatchSize) || tileBatchSize < 1) throw new RangeError(`tile batch size must be a positive integer, got ${tileBatchSize}`);
  const amp = options.amp ?? ampDefault(device);
  configureCudnn(device, { deterministic: options.deterministic });
  network.eval();
  noGrad(() =>
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
      // rows [base, base + rows) of the padded volume along the first axis
      const rows = window[0];
      const logits = zeros([numClasses, rows, ...pad.shape.slice(1)]);
      const weights = zeros([rows, ...pad.shape.slice(1)]);
      let base = 0;
      const region = (t: Tensor, origin: number[], offset: number) =>
        origin.reduce((view, o, a) => view.slice(a + offset, a === 0 ? o - base : o, (a === 0 ? o - base : o) + window[a]), t);
      // rows before `next` are final: emit them (in slabs of at most SLAB_ROWS, without the padding) and move the
      // window up to `next`, shifting the rows still open to its start
      const advance = (next: number) => {
        const done = Math.min(next, base + rows) - base;
        const end = Math.min(base + done, pad.before[0] + spatial[0]);
        for (let lo = Math.max(base, pad.before[0]); lo < end; lo += SLAB_ROWS) {
          tidy(() => {
            const hi = Math.min(lo + SLAB_ROWS, end);
            const slab = logits.slice(1, lo - base, hi - base).div(weights.slice(0, lo - base, hi - base));
            const cropped = spatial.slice(1).reduce((view, size, a) => view.slice(a + 2, pad.before[a + 1], pad.before[a + 1] + size), slab);
            emit(lo - pad.before[0], cropped.contiguous());
          });
        }
        // row by row upwards: each row is read before anything writes it, and no copy overlaps itself
        tidy(() => {
          for (let r = 0; r + done < rows; r++) {
            logits.select(1, r).copy_(logits.select(1, r + done));
            weights.select(0, r).copy_(weights.select(0, r + done));
          }
          logits.slice(1, rows - done, rows).zero_();
          weights.slice(0, rows - done, rows).zero_();
        });
        base += done;
      };

      for (let start = 0; start < origins.length; start += tileBatchSize) {
        tidy(() => {
          const batchOrigins = origins.slice(start, start + tileBatchSize);
          const tiles = stack(batchOrigins.map((o) => o.reduce((view, v, a) => view.slice(a + 1, v, v + window[a]), padded).reshape([data.size(0), ...patchSize])));
          const prediction = maybeAutocast(device, amp, () => predictWithMirroring(network, tiles, mirrorAxes));
          const expected = [batchOrigins.length, numClasses, ...patchSize];
          if (prediction.shape.join() !== expected.join()) {
            throw new Error(`network returned [${prediction.shape.join(', ')}] for tiles [${tiles.shape.join(', ')}], expected [${expected.join(', ')}]`);
          }
          const weighted = prediction.mul_(gaussian).to('cpu');
          batchOrigins.forEach((o, b) => {
            if (o[0] > base) advance(o[0]);
            region(logits, o, 1).add_(weighted.select(0, b).reshape([numClasses, ...window]));
            region(weights, o, 0).add_(gaussianCpu.reshape(window));
          });
        });
        options.onBatch?.(Math.min(start + tileBatchSize, origins.length), origins.length);
      }
      advance(pad.shape[0]);
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

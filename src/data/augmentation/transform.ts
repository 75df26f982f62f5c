// The per-sample augmentation contract shared by every transform in this folder, plus composition.
import { type Generator, type Tensor, dispose } from '../../torch/index.js';

/**
 * One training sample, channels first, spatial axes in nnU-Net's preprocessed order (2D or 3D).
 * - image: float32 [C, ...spatial]
 * - seg: int8 or int16 [1, ...spatial]; -1 marks voxels outside the image (padding of the sampled patch)
 * - segs: the loss targets, seg at each deep-supervision scale, highest resolution first (set by downsampleSegForDS)
 */
export interface Sample {
  image: Tensor;
  seg: Tensor;
  segs?: Tensor[];
}

/** A sample at the end of a pipeline: its targets are set ([seg] alone without deep supervision). */
export interface TrainingSample extends Sample {
  segs: Tensor[];
}

/**
 * One augmentation step. Every random number comes from `rng` (never Math.random), so a seeded Generator, or one
 * restored with setState(), reproduces the same output.
 *
 * Ownership rule: a transform never frees its input's tensors and never changes them in place. The sample it returns
 * holds new tensors and/or the very Tensor objects of the input that it left untouched. The caller owns both and frees
 * them together with `dispose([input, output])` (dispose frees a shared tensor once). Work happens inside tidy(), so
 * nothing else is left behind. Tensors are expected on the CPU (augmentation runs in data-loading workers).
 */
export type Transform = (sample: Sample, rng: Generator) => Sample;

/** A whole pipeline (same ownership rule): a transform whose output carries the targets. */
export type SampleTransform = (sample: Sample, rng: Generator) => TrainingSample;

/** Applies `t` with probability p (one draw), as batchgeneratorsv2's RandomTransform. */
export function withProbability(p: number, t: Transform): Transform {
  return (sample, rng) => (rng.random() < p ? t(sample, rng) : sample);
}

function tensorsOf(s: Sample): Tensor[] {
  return [s.image, s.seg, ...(s.segs ?? [])];
}

/** Runs `first`, then `then`; frees the intermediate tensors `then` replaced (never the caller's input). */
export function chain<T extends Sample>(first: Transform, then: (sample: Sample, rng: Generator) => T): (sample: Sample, rng: Generator) => T {
  return (input, rng) => {
    const middle = first(input, rng);
    const output = then(middle, rng);
    const owned = new Set([...tensorsOf(input), ...tensorsOf(output)]);
    dispose(tensorsOf(middle).filter((t) => !owned.has(t)));
    return output;
  };
}

/** Runs transforms in order; each intermediate sample is freed as soon as the next step has replaced it. */
export function compose(transforms: Transform[]): Transform {
  return transforms.reduce<Transform>((acc, t) => chain(acc, t), (sample) => sample);
}

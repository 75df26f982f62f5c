// The cascade's transforms (nnUNetTrainer.get_training_transforms with is_cascaded): the previous stage's
// segmentation, carried as seg channel 1 through the spatial transforms, becomes one-hot image channels of the
// foreground labels (BG2 MoveSegAsOneHotToDataTransform), which training then perturbs with a random morphological
// operator (ApplyRandomBinaryOperatorTransform) and by removing a random small connected component
// (RemoveRandomConnectedComponentFromOneHotEncodingTransform), so the network learns not to trust the first stage.
import { labelComponents } from '../../postprocessing/connected-components.js';
import { type Generator, type Tensor, cat, tensor, tidy } from '../../torch/index.js';
import { BINARY_OPERATORS, binaryOperation } from './morphology.js';
import { type Range, uniformIn } from './random-scalar.js';
import type { Transform } from './transform.js';

/** Seg channel 1 → one image channel per label (1 where it equals the label), appended; the seg keeps channel 0. */
export function moveSegAsOneHotToData(labels: readonly number[]): Transform {
  return (sample) =>
    tidy(() => {
      const prev = sample.seg.slice(0, 1, 2);
      const oneHot = labels.map((l) => prev.eq(l).to(sample.image.dtype));
      return { ...sample, image: cat([sample.image, ...oneHot], 0), seg: sample.seg.slice(0, 0, 1).contiguous() };
    });
}

function shuffled(values: number[], rng: Generator): number[] {
  const out = [...values];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.integer(0, i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** The image with its last `count` channels replaced by the 0/1 masks `edit` leaves after changing them in place. */
function editChannels(image: Tensor, count: number, edit: (masks: Uint8Array[], spatial: number[]) => void): Tensor {
  return tidy(() => {
    const first = image.size(0) - count;
    const spatial = image.shape.slice(1);
    const masks = Array.from({ length: count }, (_, k) => image.select(0, first + k).gt(0).to('uint8').toTypedArray() as Uint8Array);
    edit(masks, spatial);
    const channels = masks.map((m) => tensor(m, spatial, 'uint8').to(image.dtype).unsqueeze(0));
    return cat([image.slice(0, 0, first), ...channels], 0);
  });
}

export interface BinaryOperatorOptions {
  /** how many one-hot channels (the last ones of the image) */
  channels: number;
  /** ball radius range (upstream (1, 8)) */
  strelSize?: Range;
  pPerLabel?: number;
}

/**
 * Each one-hot channel in random order (each with p_per_label) gets a random dilation, erosion, closing or opening
 * with a ball of radius U(strelSize); voxels it adds are taken from the other one-hot channels.
 */
export function applyRandomBinaryOperator(options: BinaryOperatorOptions): Transform {
  const { channels, strelSize = [1, 8], pPerLabel = 1 } = options;
  return (sample, rng) => {
    const order = shuffled(Array.from({ length: channels }, (_, k) => k), rng).filter(() => rng.random() < pPerLabel);
    const ops = order.map(() => BINARY_OPERATORS[rng.integer(0, BINARY_OPERATORS.length)]);
    const radii = order.map(() => uniformIn(rng, strelSize));
    if (order.length === 0) return sample;
    const image = editChannels(sample.image, channels, (masks, spatial) => {
      order.forEach((a, i) => {
        const result = binaryOperation(ops[i], masks[a], spatial, radii[i]);
        for (let v = 0; v < result.length; v++) {
          if (!result[v] || masks[a][v]) continue;
          for (let o = 0; o < channels; o++) if (o !== a) masks[o][v] = 0;
        }
        masks[a] = result;
      });
    });
    return { ...sample, image };
  };
}

export interface RemoveComponentOptions {
  channels: number;
  /** only components smaller than this fraction of the patch are removed (upstream 0.15) */
  maxFraction?: number;
  pPerLabel?: number;
}

/** Each one-hot channel in random order (with p_per_label) loses one random connected component (26-connectivity). */
export function removeRandomConnectedComponent(options: RemoveComponentOptions): Transform {
  const { channels, maxFraction = 0.15, pPerLabel = 1 } = options;
  return (sample, rng) => {
    const order = shuffled(Array.from({ length: channels }, (_, k) => k), rng).filter(() => rng.random() < pPerLabel);
    if (order.length === 0) return sample;
    const image = editChannels(sample.image, channels, (masks, spatial) => {
      for (const a of order) {
        if (!masks[a].some((v) => v !== 0)) continue;
        const { labels, count, sizes } = labelComponents(masks[a], spatial);
        const valid: number[] = [];
        for (let k = 1; k <= count; k++) if (sizes[k] < masks[a].length * maxFraction) valid.push(k);
        if (valid.length === 0) continue;
        const drop = valid[rng.integer(0, valid.length)];
        for (let v = 0; v < labels.length; v++) if (labels[v] === drop) masks[a][v] = 0;
      }
    });
    return { ...sample, image };
  };
}

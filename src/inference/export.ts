// From logits in preprocessed space to the prediction in the input's geometry (nnU-Net's export_prediction.py):
// resample to the cropped original shape, the label manager's nonlinearity and label map (softmax + argmax, or for
// regions sigmoid + painting in regions_class_order), put back into the crop box, undo transpose_forward.
import { writeFileAtomic } from '../atomic-write.js';
import { writeNifti } from '../io/nifti.js';
import { writeNpz } from '../io/npz.js';
import { LabelManager } from '../planning/labels.js';
import type { Configuration, Plans } from '../planning/plans-schema.js';
import type { CaseProperties } from '../preprocessing/preprocessed-store.js';
import { resampleToShape } from '../preprocessing/resampling.js';
import { type Tensor, tidy, zeros } from '../torch/index.js';

/** What export reads of a case's properties. */
export type ExportProperties = Pick<CaseProperties, 'spacing' | 'shape_before_cropping' | 'bbox_used_for_cropping' | 'shape_after_cropping_and_before_resampling'>;

export interface OriginalSpacePrediction {
  /** Labels in the input's array order and shape: uint8, or int16 beyond label 255. */
  segmentation: Tensor;
  /** Softmax (sigmoid for regions) [K, ...input shape], float32; outside the crop box background is 1 (regions 0). */
  probabilities: Tensor | null;
}

/** The view of `t` (leading `lead` axes untouched) covered by the crop box. */
function cropBox(t: Tensor, bbox: readonly (readonly number[])[], lead: number): Tensor {
  return bbox.reduce((view, [start, end], a) => view.slice(a + lead, start, end), t);
}

/**
 * Logits [K, ...preprocessed shape] → labels (and optionally probabilities) in the input's array space. The logits
 * are resized with the configuration's probability resampling (order 1 by default) to the cropped shape at the
 * original spacing, as nnU-Net's convert_predicted_logits_to_segmentation_with_correct_shape. `labels` turns them into
 * probabilities and labels; without it, K plain labels (softmax, argmax).
 */
export function logitsToOriginal(
  logits: Tensor,
  properties: ExportProperties,
  plans: Plans,
  configuration: Configuration,
  withProbabilities: boolean,
  labels: LabelManager = plainLabels(logits.size(0)),
): OriginalSpacePrediction {
  return tidy(() => {
    const K = logits.size(0);
    const croppedShape = properties.shape_after_cropping_and_before_resampling;
    const originalSpacing = plans.transpose_forward.map((i) => properties.spacing[i]);
    // 2D configurations do not resample along the first (slice) axis
    const currentSpacing = configuration.spacing.length === croppedShape.length ? configuration.spacing : [originalSpacing[0], ...configuration.spacing];
    const resampled = resampleToShape(logits.float(), croppedShape, currentSpacing, originalSpacing, configuration.resampling_fn_probabilities_kwargs);
    const probabilities = labels.toProbabilities(resampled, 0);
    const segmentation = zeros(properties.shape_before_cropping, segmentationDtype(K, labels));
    cropBox(segmentation, properties.bbox_used_for_cropping, 0).copy_(labels.toSegmentation(probabilities, 'probabilities', 0));
    const back = plans.transpose_backward;
    const result: OriginalSpacePrediction = { segmentation: segmentation.permute(back).contiguous(), probabilities: null };
    if (withProbabilities) {
      const full = zeros([K, ...properties.shape_before_cropping]);
      // background outside the crop box; region heads have no background channel (revert_cropping_on_probabilities)
      if (!labels.hasRegions) full.select(0, 0).fill_(1);
      cropBox(full, properties.bbox_used_for_cropping, 1).copy_(probabilities);
      result.probabilities = full.permute([0, ...back.map((a) => a + 1)]).contiguous();
    }
    return result;
  });
}

// the label values written, not the heads, decide the type (regions: fewer heads than labels is possible)
function segmentationDtype(numHeads: number, labels: LabelManager): 'uint8' | 'int16' {
  return Math.max(numHeads - 1, ...labels.allLabels) <= 255 ? 'uint8' : 'int16';
}

/** Whether logits of `preprocessedShape` can go through segmentationFromSlabs: they need no resampling. */
export function canExportInSlabs(preprocessedShape: readonly number[], properties: ExportProperties): boolean {
  const cropped = properties.shape_after_cropping_and_before_resampling;
  return cropped.length === preprocessedShape.length && cropped.every((s, i) => s === preprocessedShape[i]);
}

/**
 * logitsToOriginal's labels without its probabilities, from logits that arrive in slabs along the first axis
 * (forEachLogitSlab's `emit`): each slab gets the softmax (sigmoid) and argmax (painting) of its rows, so only one
 * slab of K maps exists at a time instead of the whole volume's, and the labels are the same. For logits that need
 * no resampling (canExportInSlabs): a resize mixes rows across slabs.
 */
export function segmentationFromSlabs(
  produce: (emit: (start: number, slab: Tensor) => void) => void,
  numHeads: number,
  properties: ExportProperties,
  plans: Plans,
  labels: LabelManager = plainLabels(numHeads),
): Tensor {
  return tidy(() => {
    const segmentation = zeros(properties.shape_before_cropping, segmentationDtype(numHeads, labels));
    const box = cropBox(segmentation, properties.bbox_used_for_cropping, 0);
    produce((start, slab) =>
      tidy(() => {
        box.slice(0, start, start + slab.size(1)).copy_(labels.toSegmentation(labels.toProbabilities(slab, 0), 'probabilities', 0));
      }),
    );
    return segmentation.permute(plans.transpose_backward).contiguous();
  });
}

/** The label manager of K consecutive labels without ignore label: what export assumed before it took one. */
export function plainLabels(numHeads: number): LabelManager {
  return new LabelManager({ allLabels: Array.from({ length: numHeads }, (_, i) => i), ignoreLabel: null });
}

export interface WritePredictionOptions {
  /** File ending of the label map (dataset.json file_ending), e.g. '.nii.gz'. */
  fileEnding: string;
  /** Also write `<base>.npz` (probabilities) and `<base>.json` (properties). */
  saveProbabilities?: boolean;
  probabilitiesDtype?: 'float32' | 'float16';
}

/** Writes `<base><fileEnding>` with the geometry of `properties.nifti_header`, plus the .npz/.json pair if asked. */
export async function writePrediction(
  outputBase: string,
  prediction: OriginalSpacePrediction,
  properties: ExportProperties & Pick<CaseProperties, 'nifti_header'>,
  options: WritePredictionOptions,
): Promise<void> {
  const { segmentation, probabilities } = prediction;
  const labels = segmentation.toTypedArray() as Uint8Array | Int16Array;
  const writes: Promise<void>[] = [writeNifti(outputBase + options.fileEnding, labels, segmentation.shape, properties.nifti_header)];
  if (options.saveProbabilities) {
    if (!probabilities) throw new Error('writePrediction: saveProbabilities needs the probabilities');
    const probs = { data: probabilities.toTypedArray() as Float32Array, shape: probabilities.shape, dtype: options.probabilitiesDtype ?? 'float32' };
    writes.push(
      writeNpz(`${outputBase}.npz`, { probabilities: probs }).then(() =>
        writeFileAtomic(`${outputBase}.json`, new TextEncoder().encode(JSON.stringify(properties))),
      ),
    );
  }
  await Promise.all(writes);
}

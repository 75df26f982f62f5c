/**
 * Per-case segmentation metrics, following nnU-Net's evaluation (evaluation/evaluate_predictions.py):
 * TP/FP/FN/TN per label or region, Dice and IoU (NaN when reference and prediction are both empty),
 * with voxels whose reference equals the ignore label excluded from every count.
 */

/** Integer-valued label volumes in any typed array (float ones included, as NIfTI files may store them). */
export type LabelArray = Uint8Array | Int8Array | Uint16Array | Int16Array | Int32Array | Float32Array | Float64Array;

import { type LabelOrRegion, labelOrRegionKey } from '../planning/label-rules.js';

export { type LabelOrRegion, labelOrRegionKey };

export type ClassMetrics = {
  Dice: number;
  FN: number;
  FP: number;
  IoU: number;
  TN: number;
  TP: number;
  n_pred: number;
  n_ref: number;
};

/** Metric names in the order nnU-Net's summary.json lists them (sorted keys). */
export const METRIC_NAMES = ['Dice', 'FN', 'FP', 'IoU', 'TN', 'TP', 'n_pred', 'n_ref'] as const;
export type MetricName = (typeof METRIC_NAMES)[number];


/**
 * Joint histogram of (reference, prediction) label values over the non-ignored voxels.
 * `counts[r * size + p]` = number of voxels with reference r and prediction p.
 */
export type ConfusionMatrix = { size: number; counts: Float64Array };

/** Largest label value accepted; keeps the dense (size x size) matrix small. */
const MAX_LABEL = 4095;

function checkLabels(values: LabelArray, what: string): number {
  let max = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    // NaN and fractions fail the integer test; a float label array must still hold integers
    if (!(v >= 0 && v <= MAX_LABEL && v === Math.floor(v))) {
      throw new RangeError(`${what} holds ${v} at index ${i}: labels must be integers in [0, ${MAX_LABEL}]`);
    }
    if (v > max) max = v;
  }
  return max;
}

/** One pass over both arrays; the ignore label (in the reference) drops the voxel entirely. */
export function confusionMatrix(reference: LabelArray, prediction: LabelArray, ignoreLabel?: number): ConfusionMatrix {
  if (reference.length !== prediction.length) {
    throw new RangeError(`reference has ${reference.length} voxels but prediction has ${prediction.length}`);
  }
  const size = Math.max(checkLabels(reference, 'reference'), checkLabels(prediction, 'prediction')) + 1;
  const counts = new Float64Array(size * size);
  const ignore = ignoreLabel ?? -1;
  for (let i = 0; i < reference.length; i++) {
    const r = reference[i];
    if (r === ignore) continue;
    counts[r * size + prediction[i]] += 1;
  }
  return { size, counts };
}

function memberMask(labelOrRegion: LabelOrRegion, size: number): Uint8Array {
  const mask = new Uint8Array(size);
  const labels = typeof labelOrRegion === 'number' ? [labelOrRegion] : labelOrRegion;
  for (const l of labels) if (l >= 0 && l < size) mask[l] = 1;
  return mask;
}

/** TP/FP/FN/TN, Dice, IoU, n_pred, n_ref of one label or region from the joint histogram. */
export function classMetrics(cm: ConfusionMatrix, labelOrRegion: LabelOrRegion): ClassMetrics {
  const inside = memberMask(labelOrRegion, cm.size);
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  for (let r = 0; r < cm.size; r++) {
    for (let p = 0; p < cm.size; p++) {
      const n = cm.counts[r * cm.size + p];
      if (n === 0) continue;
      if (inside[r]) {
        if (inside[p]) tp += n;
        else fn += n;
      } else if (inside[p]) fp += n;
      else tn += n;
    }
  }
  const denominator = tp + fp + fn;
  return {
    Dice: denominator === 0 ? NaN : (2 * tp) / (2 * tp + fp + fn),
    FN: fn,
    FP: fp,
    IoU: denominator === 0 ? NaN : tp / denominator,
    TN: tn,
    TP: tp,
    n_pred: tp + fp,
    n_ref: tp + fn,
  };
}

/** Metrics of one case for every requested label or region, keyed as in nnU-Net's summary.json. */
export function computeCaseMetrics(
  reference: LabelArray,
  prediction: LabelArray,
  labelsOrRegions: readonly LabelOrRegion[],
  ignoreLabel?: number,
): Record<string, ClassMetrics> {
  const cm = confusionMatrix(reference, prediction, ignoreLabel);
  const out: Record<string, ClassMetrics> = {};
  for (const l of labelsOrRegions) out[labelOrRegionKey(l)] = classMetrics(cm, l);
  return out;
}

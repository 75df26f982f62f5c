// One case end to end on typed arrays, the onnx backend's pipeline in Node and in the browser: nnU-Net's
// DefaultPreprocessor (transpose, crop to nonzero, normalize, resample), the sliding window over every fold (logits
// averaged), and export_prediction (resample back, softmax/sigmoid, label map, uncrop, transpose back) into a
// NIfTI with the input's geometry.
import { UserError } from '../errors.js';
import { declaredLabels } from '../planning/label-rules.js';
import { type BoundingBox, cropToNonzero } from '../planning/crop.js';
import { computeNewShape } from './geometry.js';
import type { ModelJson } from './model-json.js';
import { type NiftiHeader, type NiftiImage, decodeNifti, encodeNifti } from './nifti.js';
import { normalizeChannel } from './normalization.js';
import { pasteBox, permute, voxels } from './nd.js';
import { resampleData } from './resampling.js';
import { type ModelRunner, slidingWindowLogits, tilePlan } from './sliding-window.js';

export type { ModelRunner };

/** What export needs of a case's preprocessing (nnU-Net's properties dict, as the libtorch backend writes it). */
export interface CaseProperties {
  /** Voxel spacing of the input in array order ([z, y, x]). */
  spacing: number[];
  /** Shape after transpose_forward, before cropping. */
  shape_before_cropping: number[];
  bbox_used_for_cropping: BoundingBox;
  shape_after_cropping_and_before_resampling: number[];
  class_locations: Record<string, number[][]>;
  nifti_header: NiftiHeader;
}

export interface PreprocessedCase {
  /** float32 [C, ...spatial] at the configuration's spacing. */
  data: Float32Array;
  shape: number[];
  properties: CaseProperties;
}

/** Preprocesses the channels of one case (all of the first channel's shape) for the exported configuration. */
export function preprocessImages(images: readonly NiftiImage[], model: ModelJson, names: readonly string[] = images.map((_, i) => `channel ${i}`)): PreprocessedCase {
  const config = model.configuration;
  if (images.length !== model.network.input_channels) throw new UserError(`the model needs ${model.network.input_channels} channel(s), got ${images.length} image(s)`);
  const first = images[0];
  if (first.shape.length !== 3) throw new UserError(`${names[0]}: expected a 3D image, got shape [${first.shape}]`);
  images.forEach((v, i) => {
    if (v.shape.length !== 3 || v.shape.some((s, a) => s !== first.shape[a])) throw new UserError(`${names[i]}: shape [${v.shape}] differs from ${names[0]} shape [${first.shape}]`);
  });
  const tf = model.transpose_forward;
  const spacing = first.spacing.map(Math.abs);
  const spacingT = tf.map((i) => spacing[i]);
  const shapeT = tf.map((i) => first.shape[i]);
  const channels = images.map((v) => permute(v.data instanceof Float32Array ? v.data : Float32Array.from(v.data), v.shape, tf).data);
  const cropped = cropToNonzero(channels, shapeT);
  const n = voxels(cropped.shape);
  // the crop's seg is -1 outside the nonzero mask: ZScore with use_mask_for_norm reads only the inside
  const nonzero = new Uint8Array(n);
  for (let i = 0; i < n; i++) nonzero[i] = cropped.seg[i] >= 0 ? 1 : 0;
  const normalized = new Float32Array(n * channels.length);
  cropped.channels.forEach((ch, c) => {
    const scheme = { scheme: config.normalization_schemes[c], useMaskForNorm: config.use_mask_for_norm[c], intensityProperties: model.foreground_intensity_properties_per_channel[String(c)] };
    normalized.set(normalizeChannel(ch, nonzero, scheme), c * n);
  });
  // 2d configurations keep the spacing between slices
  const targetSpacing = config.spacing.length < 3 ? [spacingT[0], ...config.spacing] : [...config.spacing];
  const newShape = computeNewShape(cropped.shape, spacingT, targetSpacing);
  const resampled = resampleData(normalized, [channels.length, ...cropped.shape], newShape, spacingT, targetSpacing, config.resampling_fn_data_kwargs);
  return {
    data: resampled.data,
    shape: resampled.shape,
    properties: {
      spacing,
      shape_before_cropping: shapeT,
      bbox_used_for_cropping: cropped.bbox,
      shape_after_cropping_and_before_resampling: cropped.shape,
      class_locations: {},
      nifti_header: first.header,
    },
  };
}

export interface OriginalSpacePrediction {
  /** Labels in the input's array order and shape: uint8, or int16 beyond label 255. */
  segmentation: Uint8Array | Int16Array;
  shape: number[];
  /** Softmax (sigmoid for regions) [K, ...shape]; outside the crop box background is 1 (regions 0). */
  probabilities: Float32Array | null;
}

/** In-place softmax over the K channels of [K, n] (float32 results), or a sigmoid per channel for regions. */
function toProbabilities(x: Float32Array, K: number, regions: boolean): void {
  const n = x.length / K;
  if (regions) {
    for (let i = 0; i < x.length; i++) x[i] = 1 / (1 + Math.exp(-x[i]));
    return;
  }
  const exps = new Float64Array(K);
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    for (let k = 0; k < K; k++) max = Math.max(max, x[k * n + i]);
    let sum = 0;
    for (let k = 0; k < K; k++) {
      exps[k] = Math.exp(x[k * n + i] - max);
      sum += exps[k];
    }
    for (let k = 0; k < K; k++) x[k * n + i] = exps[k] / sum;
  }
}

/**
 * Logits [K, ...preprocessed shape] → labels (and optionally probabilities) in the input's array space, as
 * src/inference/export.ts: resample with the probabilities' kwargs to the cropped shape at the original spacing,
 * softmax + argmax (regions: sigmoid, each head over 0.5 paints its regions_class_order label), uncrop, transpose back.
 */
export function logitsToOriginal(logits: Float32Array, shape: readonly number[], properties: CaseProperties, model: ModelJson, withProbabilities: boolean): OriginalSpacePrediction {
  const K = shape[0];
  const config = model.configuration;
  const croppedShape = properties.shape_after_cropping_and_before_resampling;
  const originalSpacing = model.transpose_forward.map((i) => properties.spacing[i]);
  const currentSpacing = config.spacing.length === croppedShape.length ? config.spacing : [originalSpacing[0], ...config.spacing];
  const r = resampleData(logits, shape, croppedShape, currentSpacing, originalSpacing, config.resampling_fn_probabilities_kwargs).data;
  // the probabilities are computed in place: never in the caller's logits
  const resampled = r === logits ? logits.slice() : r;
  const labels = declaredLabels(model.dataset, 'model.json dataset');
  const regions = labels.regions !== undefined;
  toProbabilities(resampled, K, regions);
  const n = voxels(croppedShape);
  const wide = Math.max(K - 1, ...labels.allLabels) > 255;
  const cropSeg = wide ? new Int16Array(n) : new Uint8Array(n);
  if (regions) {
    (labels.regionsClassOrder ?? []).forEach((label, k) => {
      for (let i = 0; i < n; i++) if (resampled[k * n + i] > 0.5) cropSeg[i] = label;
    });
  } else {
    for (let i = 0; i < n; i++) {
      let best = 0;
      let bestValue = resampled[i];
      for (let k = 1; k < K; k++) {
        const v = resampled[k * n + i];
        if (v > bestValue) {
          bestValue = v;
          best = k;
        }
      }
      cropSeg[i] = best;
    }
  }
  const before = properties.shape_before_cropping;
  const origin = properties.bbox_used_for_cropping.map(([a]) => a);
  const full = wide ? new Int16Array(voxels(before)) : new Uint8Array(voxels(before));
  pasteBox(full, before, origin, cropSeg, croppedShape);
  const back = model.transpose_backward;
  const seg = permute(full, before, back);
  let probabilities: Float32Array | null = null;
  if (withProbabilities) {
    const fullShape = [K, ...before];
    const p = new Float32Array(voxels(fullShape));
    if (!regions) p.fill(1, 0, voxels(before));
    pasteBox(p, fullShape, origin, resampled, [K, ...croppedShape]);
    probabilities = permute(p, fullShape, [0, ...back.map((a) => a + 1)]).data;
  }
  return { segmentation: seg.data, shape: seg.shape, probabilities };
}

export interface SegmentOptions {
  /** Mirroring test-time augmentation over the model's mirror axes. Default true. */
  tta?: boolean;
  /** Sliding-window step as a fraction of the patch. Default 0.5. */
  stepSize?: number;
  /** Also return the probabilities [K, ...input shape]. */
  saveProbabilities?: boolean;
  /** gzip the label NIfTI (.nii.gz). Default true. */
  gzip?: boolean;
  /** Names of the channel files, for errors. */
  names?: string[];
  /** Tiles done over all folds and their total. */
  onProgress?: (done: number, total: number) => void;
}

export interface SegmentResult {
  /** The label map as a NIfTI file (the input's geometry). */
  nifti: Uint8Array;
  segmentation: Uint8Array | Int16Array;
  /** Array shape of the segmentation ([z, y, x] of the input). */
  shape: number[];
  /** [K, ...shape] when saveProbabilities. */
  probabilities?: Float32Array;
  properties: CaseProperties;
}

/**
 * Segments one case given as the bytes of its channel files (.nii or .nii.gz, in channel order) with one runner per
 * fold (logits averaged over folds, as nnU-Net ensembles them).
 */
export async function segmentCase(runners: ModelRunner | readonly ModelRunner[], model: ModelJson, channelsBytes: readonly Uint8Array[], options: SegmentOptions = {}): Promise<SegmentResult> {
  const folds = Array.isArray(runners) ? (runners as readonly ModelRunner[]) : [runners as ModelRunner];
  if (folds.length === 0) throw new Error('segmentCase needs at least one model runner');
  const names = options.names ?? channelsBytes.map((_, i) => `channel ${i}`);
  const images = channelsBytes.map((b, i) => decodeNifti(b, names[i]));
  const pre = preprocessImages(images, model, names);
  const stepSize = options.stepSize ?? 0.5;
  const patchSize = model.configuration.patch_size;
  const total = tilePlan(pre.shape.slice(1), patchSize, stepSize).origins.length * folds.length;
  let done = 0;
  let sum: Float32Array | null = null;
  for (const runner of folds) {
    const logits = await slidingWindowLogits(runner, pre.data, pre.shape, {
      patchSize,
      numClasses: model.network.num_classes,
      stepSize,
      mirrorAxes: (options.tta ?? true) ? model.mirror_axes : [],
      onTile: () => options.onProgress?.(++done, total),
    });
    if (sum === null) sum = logits;
    else for (let i = 0; i < sum.length; i++) sum[i] += logits[i];
  }
  const logits = sum as Float32Array;
  if (folds.length > 1) for (let i = 0; i < logits.length; i++) logits[i] /= folds.length;
  const out = logitsToOriginal(logits, [model.network.num_classes, ...pre.shape.slice(1)], pre.properties, model, options.saveProbabilities ?? false);
  const result: SegmentResult = {
    nifti: encodeNifti(out.segmentation, out.shape, images[0].header, { gzip: options.gzip ?? true }),
    segmentation: out.segmentation,
    shape: out.shape,
    properties: pre.properties,
  };
  if (out.probabilities) result.probabilities = out.probabilities;
  return result;
}

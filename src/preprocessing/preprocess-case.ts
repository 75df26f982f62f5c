/**
 * nnU-Net's DefaultPreprocessor for one case (`preprocessing/preprocessors/default_preprocessor.py`):
 * transpose_forward -> crop to nonzero (seg -1 outside the mask) -> normalize -> resample to the
 * configuration's spacing -> sample foreground voxel locations for oversampling.
 */
import { createHash } from 'node:crypto';
import { UserError } from '../errors.js';
import type { NiftiHeader, NiftiVolume } from '../io/nifti.js';
import { cropToNonzero } from '../planning/crop.js';
import type { DatasetJson } from '../planning/dataset-json.js';
import { labelManagerFrom } from '../planning/labels.js';
import { computeNewShape } from '../planning/experiment-planner.js';
import { SeededRandom } from '../planning/fingerprint.js';
import { type Configuration, type Plans, resolveConfiguration } from '../planning/plans-schema.js';
import { Tensor, cat, tensor, tidy } from '../torch/index.js';
import { normalizeChannel } from './normalization.js';
import type { CaseProperties } from './preprocessed-store.js';
import { resampleData, resampleSeg } from './resampling.js';

export interface PreprocessedCase {
  /** float32 [C, ...spatial], C order. */
  data: Float32Array;
  /** [1, ...spatial]; int8 when every label is <= 127, else int16; null when no segmentation was given. */
  seg: Int8Array | Int16Array | null;
  /** [C, ...spatial] of data. */
  shape: number[];
  properties: CaseProperties;
}

// regions_class_order: the label manager refuses regions without it
type Labels = Pick<DatasetJson, 'labels' | 'regions_class_order'>;

/** The only resampling function this port implements (upstream's default). */
const RESAMPLING_FN = 'resample_data_or_seg_to_shape';
const FOREGROUND_SAMPLES = 10000;
const MIN_FOREGROUND_COVERAGE = 0.01;
const LOCATIONS_SEED = 1234;

/** JSON text with object keys sorted, so equal settings hash equally whatever order a file lists them in. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Hash of everything that decides a configuration's preprocessed output: transpose, spacing, normalization
 * (with the intensity statistics), resampling and the labels. Architecture and batch size are left out, so
 * plans that share a data_identifier (e.g. ResEnc presets) share the preprocessed cases.
 */
export function preprocessingHash(plans: Plans, configurationName: string, datasetJson: Labels): string {
  const c = resolveConfiguration(plans, configurationName);
  const annotatedKey = labelManagerFrom(datasetJson).annotatedClassesKey;
  const identity = {
    format: 1,
    transpose_forward: plans.transpose_forward,
    foreground_intensity_properties_per_channel: plans.foreground_intensity_properties_per_channel,
    labels: datasetJson.labels,
    preprocessor_name: c.preprocessor_name,
    spacing: c.spacing,
    normalization_schemes: c.normalization_schemes,
    use_mask_for_norm: c.use_mask_for_norm,
    resampling: [c.resampling_fn_data, c.resampling_fn_data_kwargs, c.resampling_fn_seg, c.resampling_fn_seg_kwargs],
    // the annotated-voxel key gained upstream's -1; naming it redoes cases stored under the old "(0, 1, ...)" key,
    // and only datasets with an ignore label have one, so no other dataset is re-preprocessed
    ...(annotatedKey === null ? {} : { annotated_classes_key: annotatedKey }),
  };
  return createHash('sha256').update(canonicalJson(identity)).digest('hex').slice(0, 16);
}

/** The header with non-finite numbers (e.g. a NaN scl_slope, meaning "unscaled") replaced so it survives JSON. */
function headerForJson(header: NiftiHeader): NiftiHeader {
  const clean = (v: unknown): unknown => {
    if (typeof v === 'number') return Number.isFinite(v) ? v : 0;
    if (Array.isArray(v)) return v.map(clean);
    return v;
  };
  return Object.fromEntries(Object.entries(header).map(([k, v]) => [k, clean(v)])) as unknown as NiftiHeader;
}

function checkConfiguration(config: Configuration, numChannels: number, source: string): void {
  for (const fn of [config.resampling_fn_data, config.resampling_fn_seg]) {
    if (fn !== RESAMPLING_FN) throw new UserError(`${source}: resampling function '${fn}' is not supported (only ${RESAMPLING_FN})`);
  }
  if (config.normalization_schemes.length !== numChannels || config.use_mask_for_norm.length !== numChannels) {
    throw new UserError(
      `${source}: normalization_schemes/use_mask_for_norm list ${config.normalization_schemes.length}/` +
        `${config.use_mask_for_norm.length} channels, the case has ${numChannels}`,
    );
  }
}

function checkInputs(images: readonly NiftiVolume[], seg: NiftiVolume | null): void {
  if (images.length === 0) throw new Error('preprocessCase needs at least one image channel');
  const shape = images[0].shape;
  if (shape.length !== 3) throw new UserError(`${images[0].path}: expected a 3D image, got shape [${shape}]`);
  for (const v of [...images.slice(1), ...(seg ? [seg] : [])]) {
    if (v.shape.length !== 3 || v.shape.some((s, i) => s !== shape[i])) {
      throw new UserError(`${v.path}: shape [${v.shape}] differs from ${images[0].path} shape [${shape}]`);
    }
  }
}

/** The volume's voxels as a [z, y, x] tensor of `dtype`, axes permuted by `transpose`. */
function transposed(volume: NiftiVolume, transpose: readonly number[], dtype: 'float32' | 'int16'): Tensor {
  const values = dtype === 'float32' ? (volume.data instanceof Float32Array ? volume.data : Float32Array.from(volume.data)) : Int16Array.from(volume.data);
  return tensor(values, volume.shape).permute([...transpose]).contiguous();
}

/** Up to `k` distinct indices of [0, n) in random order (partial Fisher-Yates over a sparse swap table). */
function sampleWithoutReplacement(rng: SeededRandom, n: number, k: number): number[] {
  const swapped = new Map<number, number>();
  const out = new Array<number>(k);
  for (let i = 0; i < k; i++) {
    const j = i + rng.nextBelow(n - i);
    out[i] = swapped.get(j) ?? j;
    swapped.set(j, swapped.get(i) ?? i);
  }
  return out;
}

/**
 * `_sample_foreground_locations`: per target (a label, or a union of values), max(min(10000, n), ceil(1% of n)) of its
 * n voxels, drawn without replacement from one seeded generator. Locations are [z, y, x] (the seg's channel axis
 * dropped). The draws use this port's generator, not numpy's, so the chosen voxels differ from upstream's while the
 * counts match.
 */
function sampleClassLocations(seg: Tensor, targets: readonly { key: string; values: readonly number[] }[]): Record<string, number[][]> {
  const rng = new SeededRandom(LOCATIONS_SEED);
  const result: Record<string, number[][]> = {};
  for (const { key, values } of targets) {
    result[key] = tidy(() => {
      const mask = values.map((v) => seg.eq(v)).reduce((a, b) => a.logicalOr(b));
      const where = mask.select(0, 0).nonzero();
      const n = where.size(0);
      if (n === 0) return [];
      const k = Math.max(Math.min(FOREGROUND_SAMPLES, n), Math.ceil(n * MIN_FOREGROUND_COVERAGE));
      const chosen = sampleWithoutReplacement(rng, n, k);
      const flat = where.indexSelect(0, tensor(chosen, [k], 'int64')).toArray();
      const dims = where.size(1);
      return Array.from({ length: k }, (_, i) => flat.slice(i * dims, (i + 1) * dims));
    });
  }
  return result;
}

/**
 * Preprocesses one case for `configurationName` of `plans`. `images` are the channels in order (all with the
 * first channel's shape); `seg` the label map, or null for images to predict.
 */
export function preprocessCase(
  images: readonly NiftiVolume[],
  seg: NiftiVolume | null,
  plans: Plans,
  configurationName: string,
  datasetJson: Labels,
): PreprocessedCase {
  const config = resolveConfiguration(plans, configurationName);
  const source = `${plans.plans_name} configuration '${configurationName}'`;
  checkConfiguration(config, images.length, source);
  checkInputs(images, seg);
  const tf = plans.transpose_forward;
  const spacing = images[0].spacing.map(Math.abs);
  const spacingT = tf.map((i) => spacing[i]);
  const shapeT = tf.map((i) => images[0].shape[i]);

  const channels = images.map((v) => tidy(() => transposed(v, tf, 'float32').toTypedArray() as Float32Array));
  const segT = seg === null ? undefined : tidy(() => transposed(seg, tf, 'int16').toTypedArray() as Int16Array);
  const cropped = cropToNonzero(channels, shapeT, segT);
  const croppedShape = cropped.shape;

  // 2d configurations keep the spacing between slices.
  const targetSpacing = config.spacing.length < 3 ? [spacingT[0], ...config.spacing] : [...config.spacing];
  const newShape = computeNewShape(croppedShape, spacingT, targetSpacing);

  return tidy(() => {
    const segTensor = tensor(cropped.seg, [1, ...croppedShape]);
    const normalized = cropped.channels.map((ch, c) =>
      normalizeChannel(tensor(ch, croppedShape), segTensor.select(0, 0), config.normalization_schemes[c], {
        useMaskForNorm: config.use_mask_for_norm[c],
        intensityProperties: plans.foreground_intensity_properties_per_channel[String(c)],
      }).unsqueeze(0),
    );
    const data = resampleData(cat(normalized, 0), newShape, spacingT, targetSpacing, config.resampling_fn_data_kwargs);

    const properties: CaseProperties = {
      spacing,
      shape_before_cropping: shapeT,
      bbox_used_for_cropping: cropped.bbox,
      shape_after_cropping_and_before_resampling: croppedShape,
      class_locations: {},
      nifti_header: headerForJson(images[0].header),
    };
    let segOut: Int8Array | Int16Array | null = null;
    if (seg !== null) {
      const resampledSeg = resampleSeg(segTensor, newShape, spacingT, targetSpacing, config.resampling_fn_seg_kwargs);
      properties.class_locations = sampleClassLocations(resampledSeg, labelManagerFrom(datasetJson).classLocationTargets);
      const wide = resampledSeg.numel > 0 && resampledSeg.amax().item() > 127;
      segOut = resampledSeg.to(wide ? 'int16' : 'int8').toTypedArray() as Int8Array | Int16Array;
    }
    return { data: data.toTypedArray() as Float32Array, seg: segOut, shape: data.shape, properties };
  });
}

/**
 * The planning core shared by every planner: nnU-Net v2's `ExperimentPlanner`
 * (`experiment_planning/experiment_planners/default_experiment_planner.py`, v2.8) with what its subclasses change
 * (network class and depth, VRAM reference values, batch cap, shrink condition, data identifiers) taken from a
 * `PlannerPreset`. Fingerprint + dataset.json -> plans with the 2d, 3d_fullres and, where upstream makes them,
 * 3d_lowres and 3d_cascade_fullres configurations. All lists are in upstream's axis order (SimpleITK's
 * [z, y, x], then `transpose_forward`). Python's round-half-to-even is used wherever upstream calls `round`.
 */
import { UserError } from '../../errors.js';
import { median, percentile } from '../fingerprint.js';
import { getPoolAndConvProps } from '../network-topology.js';
import type { ArchKwargs, Architecture, Configuration, DatasetFingerprint, Plans, ResamplingKwargs } from '../plans-schema.js';

/** `nnunetv2.configuration.ANISO_THRESHOLD`. */
export const ANISO_THRESHOLD = 3;

// ExperimentPlanner.__init__ values no planner in the registry changes (default_experiment_planner.py:50-73).
const UNET_BASE_NUM_FEATURES = 32;
const UNET_MAX_FEATURES_2D = 512;
const UNET_MAX_FEATURES_3D = 320;
const UNET_REFERENCE_BS_2D = 12;
const UNET_REFERENCE_BS_3D = 2;
const UNET_FEATUREMAP_MIN_EDGE_LENGTH = 4;
const UNET_MIN_BATCH_SIZE = 2;
const LOWRES_CREATION_THRESHOLD = 0.25;
const LOWRES_SPACING_INCREASE_FACTOR = 1.03;
/** Upstream passes 999999 as max_numpool, i.e. no limit. */
const MAX_NUMPOOL = 999999;

const RESAMPLING_FN = 'resample_data_or_seg_to_shape';

/** A network class a planner can plan for: its name in the plans and its VRAM proxy. */
export interface UNetFamily {
  /** `network_class_name` in the plans (module path + class). */
  className: string;
  /** The arch_kwargs key holding the per-stage encoder depth (PlainConvUNet convs, ResidualEncoderUNet blocks). */
  encoderDepthKey: 'n_conv_per_stage' | 'n_blocks_per_stage';
  /** `compute_conv_feature_map_size(patch)` of the network built from `kwargs` without deep supervision. */
  featureMapSize(kwargs: ArchKwargs, patchSize: readonly number[], numClasses: number): number;
}

/**
 * What an upstream planner class sets on top of `ExperimentPlanner` (its `__init__` values and overridden
 * hooks). One object per registered planner name.
 */
export interface PlannerPreset {
  /** Upstream's class name: the registry key and `experiment_planner_used`. */
  name: string;
  /** One line for --help: the network and the GPU it is meant for. */
  summary: string;
  /** The `plans_name` default (upstream's `plans_name` argument default). */
  plansName: string;
  /** `gpu_memory_target_in_gb` default. */
  gpuMemoryTargetGB: number;
  /** Upstream warns when a preset runs with a GPU target other than its own (ResEnc M/L/XL). */
  warnOnOtherGpuTarget: boolean;
  /** `UNet_reference_val_corresp_GB`: the GPU memory the reference values were calibrated for. */
  referenceCorrespGB: number;
  /** `UNet_reference_val_3d` / `_2d`: the feature-map budget at `referenceCorrespGB`. */
  referenceVal3d: number;
  referenceVal2d: number;
  /** `max_dataset_covered`: one batch covers at most this fraction of the dataset's voxels. */
  maxDatasetCovered: number;
  network: UNetFamily;
  /** `UNet_blocks_per_stage_encoder` / `_decoder`, sliced to the number of stages as upstream does. */
  blocksPerStageEncoder: readonly number[];
  blocksPerStageDecoder: readonly number[];
  /** The shrink loop's condition in `get_plans_for_configuration`: true while the patch is too large. */
  exceedsReference(estimate: number, reference: number, referenceBatchSize: number): boolean;
  /** `generate_data_identifier`: the preprocessed-data folder name of a configuration. */
  dataIdentifier(plansName: string, configuration: string): string;
}

/** The dataset.json fields the planner reads (validated by whoever loads dataset.json). */
export interface PlannerDatasetJson {
  channel_names: Record<string, string>;
  labels: Record<string, number | number[]>;
  numTraining: number;
  file_ending: string;
  overwrite_image_reader_writer?: string;
  use_mask_for_norm?: boolean;
}

export interface PlannerOptions {
  datasetName: string;
  /** Default: the planner's (nnUNetPlans for ExperimentPlanner); the prefix of the data_identifiers it owns. */
  plansName?: string;
  /** Upstream's `-gpu_memory_target`; default: the planner's (8 GB for ExperimentPlanner). */
  gpuMemoryTargetGB?: number;
  /** Default 'DefaultPreprocessor'. */
  preprocessorName?: string;
  /** Replaces the 3d_fullres target spacing (and so also steers transpose and 3d_lowres), in fingerprint axis order. */
  overwriteTargetSpacing?: number[];
  suppressTranspose?: boolean;
}

/** Python 3 `round(x)`: nearest integer, ties to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  const even = Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  return even === 0 ? 0 : even; // no -0
}

function product(values: readonly number[]): number {
  return values.reduce((a, b) => a * b, 1);
}

function argmax(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

function columnwise(rows: readonly (readonly number[])[], f: (column: number[]) => number): number[] {
  return rows[0].map((_, d) => f(rows.map((r) => r[d])));
}

function percentileOf(values: readonly number[], q: number): number {
  return percentile(Float64Array.from(values).sort(), q);
}

/** `compute_new_shape`: round(old_spacing / new_spacing * old_shape) per axis. */
export function computeNewShape(
  oldShape: readonly number[],
  oldSpacing: readonly number[],
  newSpacing: readonly number[],
): number[] {
  return oldShape.map((s, i) => roundHalfEven((oldSpacing[i] / newSpacing[i]) * s));
}

/**
 * `determine_fullres_target_spacing`: the per-axis median spacing, except on anisotropic datasets (worst axis
 * spacing > 3x the largest other one and fewer than 1/3 as many voxels as the smallest other axis), where the
 * worst axis gets the 10th percentile of its spacings, kept above the other axes' spacing.
 */
export function determineFullresTargetSpacing(
  fingerprint: Pick<DatasetFingerprint, 'spacings' | 'shapes_after_crop'>,
  overwrite?: readonly number[],
): number[] {
  if (overwrite !== undefined) return [...overwrite];
  const spacings = fingerprint.spacings;
  const target = columnwise(spacings, (c) => percentileOf(c, 50));
  const targetSize = columnwise(fingerprint.shapes_after_crop, (c) => percentileOf(c, 50));
  const worst = argmax(target);
  const others = target.map((_, i) => i).filter((i) => i !== worst);
  const maxOtherSpacing = Math.max(...others.map((i) => target[i]));
  const minOtherSize = Math.min(...others.map((i) => targetSize[i]));
  const anisoSpacing = target[worst] > ANISO_THRESHOLD * maxOtherSpacing;
  const anisoVoxels = targetSize[worst] * ANISO_THRESHOLD < minOtherSize;
  if (anisoSpacing && anisoVoxels) {
    let worstTarget = percentileOf(
      spacings.map((s) => s[worst]),
      10,
    );
    if (worstTarget < maxOtherSpacing) worstTarget = Math.max(maxOtherSpacing, worstTarget) + 1e-5;
    target[worst] = worstTarget;
  }
  return target;
}

/** `determine_transpose`: the axis with the largest target spacing goes first. */
export function determineTranspose(
  targetSpacing: readonly number[],
  suppress = false,
): { transposeForward: number[]; transposeBackward: number[] } {
  if (suppress) return { transposeForward: [0, 1, 2], transposeBackward: [0, 1, 2] };
  const maxAxis = argmax(targetSpacing);
  const forward = [maxAxis, ...[0, 1, 2].filter((i) => i !== maxAxis)];
  const backward = [0, 1, 2].map((i) => forward.indexOf(i));
  return { transposeForward: forward, transposeBackward: backward };
}

/** Normalization class for a channel name (`map_channel_name_to_normalization.py`, case-insensitive). */
export function normalizationSchemeFor(channelName: string): string {
  switch (channelName.toLowerCase()) {
    case 'ct':
      return 'CTNormalization';
    case 'nonorm':
      return 'NoNormalization';
    case 'zscore':
      return 'ZScoreNormalization';
    case 'rescale_to_0_1':
      return 'RescaleTo01Normalization';
    case 'rgb_to_0_1':
      return 'RGBTo01Normalization';
    default:
      return 'ZScoreNormalization';
  }
}

/**
 * Normalization per channel and `use_mask_for_norm`: masking only applies to schemes that leave voxels outside
 * the mask at zero (ZScore), and only when cropping removed > 25% of the median image (or dataset.json asks).
 */
export function determineNormalization(
  datasetJson: Pick<PlannerDatasetJson, 'channel_names' | 'use_mask_for_norm'>,
  medianRelativeSizeAfterCropping: number,
): { normalizationSchemes: string[]; useMaskForNorm: boolean[] } {
  const schemes = Object.values(datasetJson.channel_names).map(normalizationSchemeFor);
  const masked = medianRelativeSizeAfterCropping < 3 / 4 || datasetJson.use_mask_for_norm === true;
  return {
    normalizationSchemes: schemes,
    useMaskForNorm: schemes.map((s) => masked && s === 'ZScoreNormalization'),
  };
}

/**
 * How `resample_data_or_seg_to_shape` applies the planned kwargs to one case: with `force_separate_z` null,
 * resample separately along z (in-plane with `order`, out-of-plane with `order_z`) when max/min spacing exceeds
 * 3 in the current spacing, else in the target spacing; the low-resolution axis is the one with the largest
 * spacing, and ties (2 or 3 such axes) turn separate-z off.
 */
export function resolveSeparateZ(
  currentSpacing: readonly number[],
  newSpacing: readonly number[],
  forceSeparateZ: boolean | null,
): { separateZ: boolean; axis: number | null } {
  const isAniso = (s: readonly number[]): boolean => Math.max(...s) / Math.min(...s) > ANISO_THRESHOLD;
  const lowresAxes = (s: readonly number[]): number[] => {
    const m = Math.max(...s);
    return s.map((v, i) => (m / v === 1 ? i : -1)).filter((i) => i >= 0);
  };
  let separateZ: boolean;
  let axes: number[] | null;
  if (forceSeparateZ !== null) {
    separateZ = forceSeparateZ;
    axes = forceSeparateZ ? lowresAxes(currentSpacing) : null;
  } else if (isAniso(currentSpacing)) {
    separateZ = true;
    axes = lowresAxes(currentSpacing);
  } else if (isAniso(newSpacing)) {
    separateZ = true;
    axes = lowresAxes(newSpacing);
  } else {
    separateZ = false;
    axes = null;
  }
  if (axes !== null && axes.length !== 1) separateZ = false;
  return { separateZ, axis: separateZ && axes !== null ? axes[0] : null };
}

interface ConfigurationContext {
  preset: PlannerPreset;
  numOutputChannels: number;
  gpuMemoryTargetGB: number;
  preprocessorName: string;
  normalizationSchemes: string[];
  useMaskForNorm: boolean[];
  /** VRAM estimates by patch and strides, shared across configurations as upstream's `_cache`. */
  estimateCache: Map<string, number>;
}

function featuresPerStage(numStages: number, maxFeatures: number): number[] {
  return Array.from({ length: numStages }, (_, i) => Math.min(maxFeatures, UNET_BASE_NUM_FEATURES * 2 ** i));
}

function architectureFor(preset: PlannerPreset, dim: number, strides: number[][], kernels: number[][]): Architecture {
  const numStages = strides.length;
  // Computed key, spread in place: the depth key keeps upstream's position in arch_kwargs.
  const encoderDepth = { [preset.network.encoderDepthKey]: preset.blocksPerStageEncoder.slice(0, numStages) } as Pick<
    ArchKwargs,
    'n_conv_per_stage' | 'n_blocks_per_stage'
  >;
  return {
    network_class_name: preset.network.className,
    arch_kwargs: {
      n_stages: numStages,
      features_per_stage: featuresPerStage(numStages, dim === 2 ? UNET_MAX_FEATURES_2D : UNET_MAX_FEATURES_3D),
      conv_op: `torch.nn.modules.conv.Conv${dim}d`,
      kernel_sizes: kernels,
      strides,
      ...encoderDepth,
      n_conv_per_stage_decoder: preset.blocksPerStageDecoder.slice(0, numStages - 1),
      conv_bias: true,
      norm_op: `torch.nn.modules.instancenorm.InstanceNorm${dim}d`,
      norm_op_kwargs: { eps: 1e-5, affine: true },
      dropout_op: null,
      dropout_op_kwargs: null,
      nonlin: 'torch.nn.LeakyReLU',
      nonlin_kwargs: { inplace: true },
    },
    _kw_requires_import: ['conv_op', 'norm_op', 'dropout_op', 'nonlin'],
  };
}

function estimateVram(ctx: ConfigurationContext, patch: number[], arch: Architecture): number {
  const key = `${JSON.stringify(patch)}_${JSON.stringify(arch.arch_kwargs.strides)}`;
  let estimate = ctx.estimateCache.get(key);
  if (estimate === undefined) {
    estimate = ctx.preset.network.featureMapSize(arch.arch_kwargs, patch, ctx.numOutputChannels);
    ctx.estimateCache.set(key, estimate);
  }
  return estimate;
}

const kw = (isSeg: boolean, order: number): ResamplingKwargs => ({
  is_seg: isSeg,
  order,
  order_z: 0,
  force_separate_z: null,
});

/**
 * `get_plans_for_configuration`: initial patch from the spacing's aspect ratio (volume 256^3 or 2048^2) clipped
 * to the median shape, topology from `get_pool_and_conv_props`, then shrink the axis that is largest relative to
 * the median shape until the feature-map estimate fits the VRAM reference; batch size from the headroom, capped so
 * one batch covers at most the preset's share of the dataset's voxels (5% by default), at least 2.
 */
function planConfiguration(
  spacing: readonly number[],
  medianShape: readonly number[],
  dataIdentifier: string,
  approximateNumVoxelsDataset: number,
  ctx: ConfigurationContext,
): Configuration {
  const dim = spacing.length;
  if (dim !== 2 && dim !== 3) throw new Error(`planConfiguration: spacing must have 2 or 3 axes, got ${dim}`);
  if (!spacing.every((s) => s > 0)) throw new UserError(`planning: spacing must be > 0, got [${spacing.join(', ')}]`);

  const inverse = spacing.map((s) => 1 / s);
  const scale = dim === 3 ? (256 ** 3 / product(inverse)) ** (1 / 3) : (2048 ** 2 / product(inverse)) ** (1 / 2);
  const initialPatch = inverse.map((v, i) => Math.min(roundHalfEven(v * scale), medianShape[i]));

  let topo = getPoolAndConvProps(spacing, initialPatch, UNET_FEATUREMAP_MIN_EDGE_LENGTH, MAX_NUMPOOL);
  let patch = topo.patchSize;
  const { preset } = ctx;
  let arch = architectureFor(preset, dim, topo.poolOpKernelSizes, topo.convKernelSizes);
  let estimate = estimateVram(ctx, patch, arch);

  const reference =
    (dim === 2 ? preset.referenceVal2d : preset.referenceVal3d) * (ctx.gpuMemoryTargetGB / preset.referenceCorrespGB);
  const referenceBatch = dim === 2 ? UNET_REFERENCE_BS_2D : UNET_REFERENCE_BS_3D;

  while (preset.exceedsReference(estimate, reference, referenceBatch)) {
    // np.argsort(...)[-1] on <= 16 elements is a stable sort: ties go to the later axis.
    const ratios = patch.map((p, i) => p / medianShape[i]);
    let axis = 0;
    for (let i = 1; i < dim; i++) if (ratios[i] >= ratios[axis]) axis = i;
    // Step by the divisor of the reduced size, so that valid sizes between multiples are not skipped.
    const trial = [...patch];
    trial[axis] -= topo.shapeMustBeDivisibleBy[axis];
    const step = getPoolAndConvProps(spacing, trial, UNET_FEATUREMAP_MIN_EDGE_LENGTH, MAX_NUMPOOL).shapeMustBeDivisibleBy;
    const reduced = [...patch];
    reduced[axis] -= step[axis];

    topo = getPoolAndConvProps(spacing, reduced, UNET_FEATUREMAP_MIN_EDGE_LENGTH, MAX_NUMPOOL);
    patch = topo.patchSize;
    arch = architectureFor(preset, dim, topo.poolOpKernelSizes, topo.convKernelSizes);
    estimate = estimateVram(ctx, patch, arch);
  }

  const vramBatch = roundHalfEven((reference / estimate) * referenceBatch);
  const coverageBatch = roundHalfEven((approximateNumVoxelsDataset * preset.maxDatasetCovered) / product(patch));
  const batchSize = Math.max(Math.min(vramBatch, coverageBatch), UNET_MIN_BATCH_SIZE);

  return {
    data_identifier: dataIdentifier,
    preprocessor_name: ctx.preprocessorName,
    batch_size: batchSize,
    patch_size: patch,
    median_image_size_in_voxels: [...medianShape],
    spacing: [...spacing],
    normalization_schemes: [...ctx.normalizationSchemes],
    use_mask_for_norm: [...ctx.useMaskForNorm],
    resampling_fn_data: RESAMPLING_FN,
    resampling_fn_seg: RESAMPLING_FN,
    resampling_fn_data_kwargs: kw(false, 3),
    resampling_fn_seg_kwargs: kw(true, 1),
    resampling_fn_probabilities: RESAMPLING_FN,
    resampling_fn_probabilities_kwargs: kw(false, 1),
    architecture: arch,
    batch_dice: false, // set per configuration by planExperiment
  };
}

const IO_BY_FILE_ENDING: Record<string, string> = {
  '.png': 'NaturalImage2DIO',
  '.bmp': 'NaturalImage2DIO',
  '.tif': 'NaturalImage2DIO',
  '.nii.gz': 'SimpleITKIO',
  '.nii': 'SimpleITKIO',
  '.nrrd': 'SimpleITKIO',
  '.mha': 'SimpleITKIO',
  '.gipl': 'SimpleITKIO',
  '.tiff': 'Tiff3DIO',
};

/** The reader/writer class name upstream records: dataset.json's override, else the first class for the ending. */
export function imageReaderWriterFor(datasetJson: Pick<PlannerDatasetJson, 'file_ending' | 'overwrite_image_reader_writer'>): string {
  const override = datasetJson.overwrite_image_reader_writer;
  if (override !== undefined && override !== 'None') return override;
  const io = IO_BY_FILE_ENDING[datasetJson.file_ending.toLowerCase()];
  if (io === undefined) throw new UserError(`dataset.json: no image reader for file_ending '${datasetJson.file_ending}'`);
  return io;
}

/** `plan_experiment()` of the planner `preset` describes: the whole plans file, configurations in upstream's order. */
export function planWithPreset(
  preset: PlannerPreset,
  fingerprint: DatasetFingerprint,
  datasetJson: PlannerDatasetJson,
  options: PlannerOptions,
): Plans {
  const plansName = options.plansName ?? preset.plansName;
  const gpuMemoryTargetGB = options.gpuMemoryTargetGB ?? preset.gpuMemoryTargetGB;
  if (preset.warnOnOtherGpuTarget && gpuMemoryTargetGB !== preset.gpuMemoryTargetGB) {
    // upstream warns too (residual_encoder_unet_planners.py:229-232, 255-258, 280-283) but plans as asked
    process.emitWarning(
      `${preset.name} is calibrated for ${preset.gpuMemoryTargetGB} GB of GPU memory; planning for ${gpuMemoryTargetGB} GB as asked`,
    );
  }
  const numCases = fingerprint.spacings.length;
  if (numCases === 0) throw new UserError('dataset_fingerprint.json: no cases');
  for (const [i, s] of fingerprint.spacings.entries()) {
    if (s.length !== 3 || fingerprint.shapes_after_crop[i]?.length !== 3) {
      throw new UserError(`dataset_fingerprint.json: case ${i} must have 3-axis spacing and shape`);
    }
  }
  const { normalizationSchemes, useMaskForNorm } = determineNormalization(
    datasetJson,
    fingerprint.median_relative_size_after_cropping,
  );
  const ctx: ConfigurationContext = {
    preset,
    numOutputChannels: Object.keys(datasetJson.labels).length,
    gpuMemoryTargetGB,
    preprocessorName: options.preprocessorName ?? 'DefaultPreprocessor',
    normalizationSchemes,
    useMaskForNorm,
    estimateCache: new Map(),
  };
  const id = (configuration: string): string => preset.dataIdentifier(plansName, configuration);

  const fullresSpacing = determineFullresTargetSpacing(fingerprint, options.overwriteTargetSpacing);
  const { transposeForward, transposeBackward } = determineTranspose(fullresSpacing, options.suppressTranspose);
  const transpose = (v: readonly number[]): number[] => transposeForward.map((i) => v[i]);
  const fullresSpacingT = transpose(fullresSpacing);

  const newShapes = fingerprint.spacings.map((s, i) => computeNewShape(fingerprint.shapes_after_crop[i], s, fullresSpacing));
  const newMedianShapeT = transpose(columnwise(newShapes, median));
  const approximateNumVoxelsDataset = product(newMedianShapeT) * datasetJson.numTraining;

  let plan3dFullres: Configuration | null = null;
  let plan3dLowres: Configuration | null = null;
  if (newMedianShapeT[0] !== 1) {
    plan3dFullres = planConfiguration(fullresSpacingT, newMedianShapeT, id('3d_fullres'), approximateNumVoxelsDataset, ctx);
    const fullresVoxels = product(newMedianShapeT);
    let medianNumVoxels = fullresVoxels;
    let numVoxelsInPatch = product(plan3dFullres.patch_size);
    let lowresSpacing = [...fullresSpacingT];
    // Coarsen the spacing 3% at a time (anisotropic axes first) until the patch covers >= 25% of the image.
    while (numVoxelsInPatch / medianNumVoxels < LOWRES_CREATION_THRESHOLD) {
      const maxSpacing = Math.max(...lowresSpacing);
      const coarser = lowresSpacing.map((s) => maxSpacing / s > 2);
      lowresSpacing = coarser.some(Boolean)
        ? lowresSpacing.map((s, i) => (coarser[i] ? s * LOWRES_SPACING_INCREASE_FACTOR : s))
        : lowresSpacing.map((s) => s * LOWRES_SPACING_INCREASE_FACTOR);
      const lowresShape = fullresSpacingT.map((f, i) => (f / lowresSpacing[i]) * newMedianShapeT[i]);
      medianNumVoxels = product(lowresShape);
      plan3dLowres = planConfiguration(
        lowresSpacing,
        lowresShape.map(roundHalfEven),
        id('3d_lowres'),
        medianNumVoxels * datasetJson.numTraining,
        ctx,
      );
      numVoxelsInPatch = product(plan3dLowres.patch_size);
    }
    // A lowres stage that is less than half the voxels of fullres is not worth a cascade.
    if (fullresVoxels / medianNumVoxels < 2) plan3dLowres = null;
    if (plan3dLowres !== null) {
      plan3dLowres.batch_dice = false;
      plan3dFullres.batch_dice = true;
    } else {
      plan3dFullres.batch_dice = false;
    }
  }

  const plan2d = planConfiguration(
    fullresSpacingT.slice(1),
    newMedianShapeT.slice(1),
    id('2d'),
    approximateNumVoxelsDataset,
    ctx,
  );
  plan2d.batch_dice = true;

  const configurations: Plans['configurations'] = { '2d': plan2d };
  if (plan3dLowres !== null) {
    configurations['3d_lowres'] = plan3dFullres !== null ? { ...plan3dLowres, next_stage: '3d_cascade_fullres' } : plan3dLowres;
  }
  if (plan3dFullres !== null) {
    configurations['3d_fullres'] = plan3dFullres;
    if (plan3dLowres !== null) {
      configurations['3d_cascade_fullres'] = { inherits_from: '3d_fullres', previous_stage: '3d_lowres' };
    }
  }

  return {
    dataset_name: options.datasetName,
    plans_name: plansName,
    original_median_spacing_after_transp: transpose(columnwise(fingerprint.spacings, median)),
    original_median_shape_after_transp: transpose(columnwise(fingerprint.shapes_after_crop, median)).map(roundHalfEven),
    image_reader_writer: imageReaderWriterFor(datasetJson),
    transpose_forward: transposeForward,
    transpose_backward: transposeBackward,
    configurations,
    experiment_planner_used: preset.name,
    label_manager: 'LabelManager',
    foreground_intensity_properties_per_channel: fingerprint.foreground_intensity_properties_per_channel,
  };
}

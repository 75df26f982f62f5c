/**
 * Schemas for nnU-Net v2's `nnUNetPlans.json` and `dataset_fingerprint.json`, in upstream's exact key names, and
 * the `inherits_from` resolver (`utilities/plans_handling/plans_handler.py`). Unknown keys are kept, so plans
 * written by nnU-Net with extra fields survive a round trip.
 */
import { access, readFile } from 'node:fs/promises';
import { z } from 'zod';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../atomic-write.js';

const int = z.number().int();
const intList = z.array(int);
const numList = z.array(z.number());
const kwargs = z.record(z.string(), z.unknown());

export const ResamplingKwargsSchema = z.looseObject({
  is_seg: z.boolean(),
  order: int,
  order_z: int,
  /** null: decide per case from the spacings (separate-z when max/min spacing > 3). */
  force_separate_z: z.boolean().nullable(),
});
export type ResamplingKwargs = z.infer<typeof ResamplingKwargsSchema>;

export const ArchKwargsSchema = z.looseObject({
  n_stages: int.positive(),
  features_per_stage: intList,
  conv_op: z.string(),
  kernel_sizes: z.array(intList),
  strides: z.array(intList),
  /** PlainConvUNet; ResidualEncoderUNet has `n_blocks_per_stage` instead. */
  n_conv_per_stage: intList.optional(),
  n_blocks_per_stage: intList.optional(),
  n_conv_per_stage_decoder: intList,
  conv_bias: z.boolean(),
  norm_op: z.string().nullable(),
  norm_op_kwargs: kwargs.nullable(),
  dropout_op: z.string().nullable(),
  dropout_op_kwargs: kwargs.nullable(),
  nonlin: z.string().nullable(),
  nonlin_kwargs: kwargs.nullable(),
});
export type ArchKwargs = z.infer<typeof ArchKwargsSchema>;

export const ArchitectureSchema = z.looseObject({
  network_class_name: z.string(),
  arch_kwargs: ArchKwargsSchema,
  _kw_requires_import: z.array(z.string()),
});
export type Architecture = z.infer<typeof ArchitectureSchema>;

const cascadeFields = {
  inherits_from: z.string().optional(),
  previous_stage: z.string().optional(),
  next_stage: z.union([z.string(), z.array(z.string())]).optional(),
};

/** A configuration after inheritance is resolved: everything a preprocessor/trainer needs. */
export const ConfigurationSchema = z.looseObject({
  data_identifier: z.string(),
  preprocessor_name: z.string(),
  batch_size: int.positive(),
  patch_size: intList,
  median_image_size_in_voxels: numList,
  spacing: numList,
  normalization_schemes: z.array(z.string()),
  use_mask_for_norm: z.array(z.boolean()),
  resampling_fn_data: z.string(),
  resampling_fn_seg: z.string(),
  resampling_fn_data_kwargs: ResamplingKwargsSchema,
  resampling_fn_seg_kwargs: ResamplingKwargsSchema,
  resampling_fn_probabilities: z.string(),
  resampling_fn_probabilities_kwargs: ResamplingKwargsSchema,
  architecture: ArchitectureSchema,
  batch_dice: z.boolean(),
  ...cascadeFields,
});
export type Configuration = z.infer<typeof ConfigurationSchema>;

/** A configuration as stored: with `inherits_from` any field may be left to the parent. */
export const StoredConfigurationSchema = ConfigurationSchema.partial();
export type StoredConfiguration = z.infer<typeof StoredConfigurationSchema>;

export const IntensityPropertiesSchema = z.looseObject({
  max: z.number(),
  mean: z.number(),
  median: z.number(),
  min: z.number(),
  percentile_00_5: z.number(),
  percentile_99_5: z.number(),
  std: z.number(),
});
export type IntensityProperties = z.infer<typeof IntensityPropertiesSchema>;

/** Keyed by channel index as a string ("0", "1", ...), as upstream's JSON has it. */
const intensityPerChannel = z.record(z.string(), IntensityPropertiesSchema);

export const PlansSchema = z.looseObject({
  dataset_name: z.string(),
  plans_name: z.string(),
  original_median_spacing_after_transp: numList,
  original_median_shape_after_transp: intList,
  image_reader_writer: z.string(),
  transpose_forward: intList,
  transpose_backward: intList,
  configurations: z.record(z.string(), StoredConfigurationSchema),
  experiment_planner_used: z.string(),
  label_manager: z.string(),
  foreground_intensity_properties_per_channel: intensityPerChannel,
});
export type Plans = z.infer<typeof PlansSchema>;

export const FingerprintSchema = z.looseObject({
  foreground_intensity_properties_per_channel: intensityPerChannel,
  median_relative_size_after_cropping: z.number(),
  shapes_after_crop: z.array(intList),
  spacings: z.array(numList),
});
export type DatasetFingerprint = z.infer<typeof FingerprintSchema>;

function parseWith<T>(schema: z.ZodType<T>, json: unknown, source: string, what: string): T {
  const result = schema.safeParse(json);
  if (!result.success) throw new UserError(`${source}: not a valid ${what}:\n${z.prettifyError(result.error)}`);
  return result.data;
}

export function parsePlans(json: unknown, source: string): Plans {
  const plans = parseWith(PlansSchema, json, source, 'nnU-Net plans file');
  if (plans.transpose_forward.length !== plans.transpose_backward.length) {
    throw new UserError(`${source}: transpose_forward and transpose_backward differ in length`);
  }
  return plans;
}

export function parseFingerprint(json: unknown, source: string): DatasetFingerprint {
  const fp = parseWith(FingerprintSchema, json, source, 'dataset fingerprint');
  if (fp.spacings.length !== fp.shapes_after_crop.length) {
    throw new UserError(
      `${source}: ${fp.spacings.length} spacings but ${fp.shapes_after_crop.length} shapes_after_crop`,
    );
  }
  return fp;
}

/** A JSON file's value; an unreadable file or invalid JSON is a UserError naming the file. */
export async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UserError(`${file}: cannot read (${(err as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UserError(`${file}: invalid JSON (${(err as Error).message})`);
  }
}

export async function readPlansFile(file: string): Promise<Plans> {
  return parsePlans(await readJson(file), file);
}

export async function readFingerprintFile(file: string): Promise<DatasetFingerprint> {
  return parseFingerprint(await readJson(file), file);
}

/**
 * Writes plans as upstream's `save_plans` does: configurations of an existing file at `file` that the new plans
 * do not define (user-added ones) are kept, after the new ones. 4-space indent, atomic.
 */
export async function writePlansFile(file: string, plans: Plans): Promise<void> {
  let merged = plans;
  const exists = await access(file).then(
    () => true,
    () => false,
  );
  if (exists) {
    const old = await readPlansFile(file);
    const kept = Object.entries(old.configurations).filter(([name]) => !(name in plans.configurations));
    merged = { ...plans, configurations: { ...plans.configurations, ...Object.fromEntries(kept) } };
  }
  await writeFileAtomic(file, new TextEncoder().encode(JSON.stringify(merged, null, 4)));
}

/**
 * The configuration `name` with `inherits_from` applied: the parent's (recursively resolved) fields, overwritten
 * key by key with the child's, as nnU-Net's PlansManager does. `inherits_from` itself stays in the result.
 */
export function resolveConfiguration(plans: Plans, name: string, source = plans.plans_name): Configuration {
  const chain: string[] = [];
  const merge = (current: string): StoredConfiguration => {
    const own = plans.configurations[current];
    if (own === undefined) {
      const known = Object.keys(plans.configurations).join(', ');
      const via = chain.length > 0 ? ` (inherited by ${chain.join(' <- ')})` : '';
      throw new UserError(`${source}: configuration '${current}'${via} does not exist; available: ${known}`);
    }
    if (chain.includes(current)) {
      throw new UserError(`${source}: circular inherits_from: ${[...chain, current].join(' -> ')}`);
    }
    chain.push(current);
    if (own.inherits_from === undefined) return { ...own };
    return { ...merge(own.inherits_from), ...own };
  };
  return parseWith(ConfigurationSchema, merge(name), `${source} (configuration '${name}')`, 'configuration');
}

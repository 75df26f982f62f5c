// model.json: everything prediction needs beside model.onnx (plans configuration, labels, channels, normalization
// and its intensity statistics, spacing, transposes, patch size, mirror axes), so an export folder predicts without
// the results folder. Written by `nnunet export-onnx`, read by `predict --backend onnx` and the browser.
import { z } from 'zod';
import { UserError } from '../errors.js';

export const MODEL_JSON_FORMAT_VERSION = 1;

const int = z.number().int();
const resamplingKwargs = z.looseObject({ is_seg: z.boolean(), order: int, order_z: int, force_separate_z: z.boolean().nullable() });
const intensity = z.looseObject({ mean: z.number(), std: z.number(), percentile_00_5: z.number(), percentile_99_5: z.number() });

export const ModelJsonSchema = z.object({
  format_version: z.literal(MODEL_JSON_FORMAT_VERSION),
  exporter: z.object({ name: z.string(), version: z.string() }),
  dataset_name: z.string(),
  plans_name: z.string(),
  trainer: z.string(),
  configuration_name: z.string(),
  fold: z.union([int, z.literal('all')]),
  checkpoint: z.string(),
  network: z.object({
    class_name: z.string(),
    onnx_file: z.string(),
    opset: int,
    input_name: z.string(),
    output_name: z.string(),
    input_channels: int.positive(),
    num_classes: int.positive(),
    /** Spatial sizes the graph takes are multiples of this, per axis. */
    total_stride: z.array(int.positive()),
  }),
  /** The model's dataset.json; prediction reads labels (name → value or region), regions_class_order, channel_names, file_ending. */
  dataset: z.looseObject({
    labels: z.record(z.string(), z.union([int, z.array(int)])),
    regions_class_order: z.array(int).optional(),
    channel_names: z.record(z.string(), z.string()),
    file_ending: z.string(),
  }),
  transpose_forward: z.array(int),
  transpose_backward: z.array(int),
  /** The plans configuration, inheritance resolved. */
  configuration: z.looseObject({
    patch_size: z.array(int.positive()),
    spacing: z.array(z.number().positive()),
    normalization_schemes: z.array(z.string()),
    use_mask_for_norm: z.array(z.boolean()),
    resampling_fn_data_kwargs: resamplingKwargs,
    resampling_fn_seg_kwargs: resamplingKwargs,
    resampling_fn_probabilities_kwargs: resamplingKwargs,
  }),
  foreground_intensity_properties_per_channel: z.record(z.string(), intensity),
  /** Patch axes the trainer allowed to mirror at test time. */
  mirror_axes: z.array(int.nonnegative()),
});

export type ModelJson = z.infer<typeof ModelJsonSchema>;

/** Validates parsed model.json content; `source` names the file in the error. */
export function parseModelJson(value: unknown, source: string): ModelJson {
  const parsed = ModelJsonSchema.safeParse(value);
  if (!parsed.success) {
    const version = (value as { format_version?: unknown } | null)?.format_version;
    const hint = version !== undefined && version !== MODEL_JSON_FORMAT_VERSION ? ` (format_version ${JSON.stringify(version)}; this version reads ${MODEL_JSON_FORMAT_VERSION}: export the model again)` : '';
    throw new UserError(`${source}: not a valid model.json${hint}:\n${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

/**
 * The raw dataset's dataset.json (nnU-Net v2 format, documentation/dataset_format.md), validated with zod.
 * Keys we do not use are kept, since the file is copied on to the preprocessed and results folders.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { UserError } from '../errors.js';
import { type LabelOrRegion, declaredLabels, labelIssues } from './label-rules.js';

/** File endings this implementation can read (NIfTI through our own reader, as SimpleITKIO would). */
export const SUPPORTED_FILE_ENDINGS = ['.nii.gz', '.nii'];

// a label or a region (list of labels); integer and range rules are labelIssues', which names the key
const labelValue = z.union([z.number(), z.array(z.number())], { error: 'a label value must be a non-negative integer or a list of them (a region)' });

/** dataset.json labels: name → value or region; "ignore", when present, is one value (labelIssues refuses a list). */
export type DatasetLabels = Record<string, number | number[]> & { ignore?: number };

const caseFiles = z.object({
  images: z.array(z.string()).min(1, 'each case needs at least one image'),
  label: z.string(),
});

export const datasetJsonSchema = z
  .looseObject({
    channel_names: z.record(z.string().regex(/^\d+$/, 'channel keys must be "0", "1", ...'), z.string()),
    // the record keeps dataset.json's key order, which is the order of the regions (heads)
    labels: z.record(z.string(), labelValue).transform((l) => l as DatasetLabels),
    numTraining: z.int().nonnegative(),
    file_ending: z.string(),
    overwrite_image_reader_writer: z.string().optional(),
    regions_class_order: z.array(z.int()).optional(),
    /** Explicit case list (paths relative to the dataset folder) instead of imagesTr/labelsTr scanning. */
    dataset: z.record(z.string(), caseFiles).optional(),
  })
  .superRefine((d, ctx) => {
    const channels = Object.keys(d.channel_names).map(Number).sort((a, b) => a - b);
    if (channels.length === 0) ctx.addIssue({ code: 'custom', message: 'declare at least one channel', path: ['channel_names'] });
    if (channels.some((c, i) => c !== i)) {
      ctx.addIssue({ code: 'custom', message: `channel keys must be 0..${channels.length - 1}, got ${channels.join(', ')}`, path: ['channel_names'] });
    }
    // the label rules live with the label manager, which enforces them again on any labels it is given
    for (const issue of labelIssues(d)) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
    if (!SUPPORTED_FILE_ENDINGS.includes(d.file_ending)) {
      ctx.addIssue({ code: 'custom', message: `file ending "${d.file_ending}" is not supported (use ${SUPPORTED_FILE_ENDINGS.join(' or ')})`, path: ['file_ending'] });
    }
    if (d.overwrite_image_reader_writer !== undefined && d.overwrite_image_reader_writer !== 'SimpleITKIO') {
      ctx.addIssue({ code: 'custom', message: `reader "${d.overwrite_image_reader_writer}" is not supported (images are read as SimpleITKIO does)`, path: ['overwrite_image_reader_writer'] });
    }
  });

export type DatasetJson = z.infer<typeof datasetJsonSchema>;

/** Validates an already parsed dataset.json; `file` names it in the error. */
export function parseDatasetJson(value: unknown, file: string): DatasetJson {
  const result = datasetJsonSchema.safeParse(value);
  if (result.success) return result.data;
  const legacy =
    typeof value === 'object' && value !== null && 'modality' in value && !('channel_names' in value)
      ? '\n(this looks like a Medical Segmentation Decathlon / nnU-Net v1 dataset.json: convert the task with convert-msd)'
      : '';
  throw new UserError(`${file}: invalid dataset.json\n${z.prettifyError(result.error)}${legacy}`);
}

export async function loadDatasetJson(file: string): Promise<DatasetJson> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new UserError(`${file}: dataset.json not found`);
    throw err;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UserError(`${file}: not valid JSON (${(err as Error).message})`);
  }
  return parseDatasetJson(value, file);
}

/** The declared label values (including the ignore label), ascending. */
export function labelValues(json: DatasetJson): number[] {
  const { allLabels, ignoreLabel } = declaredLabels(json);
  return ignoreLabel === null ? allLabels : [...allLabels, ignoreLabel];
}

/**
 * The labels nnU-Net evaluates: every declared value except background (0) and the ignore label, or with
 * region-based training the regions (LabelManager.foreground_regions).
 */
export function foregroundLabels(json: DatasetJson): LabelOrRegion[] {
  const declared = declaredLabels(json);
  return declared.regions ?? declared.allLabels.filter((v) => v !== 0);
}

export const numChannels = (json: DatasetJson): number => Object.keys(json.channel_names).length;

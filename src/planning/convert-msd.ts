/**
 * nnUNetv2_convert_MSD_dataset: a Medical Segmentation Decathlon task folder (TaskXX_Name with 4D
 * multi-modal images and a dataset.json holding "modality", "labels" index->name and "training") becomes
 * nnUNet_raw/DatasetXXX_Name with one 3D file per channel (_0000, _0001, ...) and a v2 dataset.json.
 */
import { copyFile, mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../atomic-write.js';
import { readNifti, writeNifti } from '../io/nifti.js';
import { parseDatasetJson } from './dataset-json.js';
import { datasetFoldersWithId } from './paths.js';

const msdJsonSchema = z.looseObject({
  modality: z.record(z.string().regex(/^\d+$/), z.string()),
  labels: z.record(z.string().regex(/^\d+$/, 'MSD label keys are label values ("0", "1", ...)'), z.string()),
});

export interface ConvertMsdResult {
  datasetName: string;
  datasetDir: string;
  numTrainingImages: number;
  numTestImages: number;
}

/** .nii.gz files of `folder`, skipping names starting with "." or "_" (macOS "._" files) as nnU-Net does. */
async function msdFiles(folder: string, required: boolean): Promise<string[]> {
  try {
    return (await readdir(folder)).filter((n) => n.endsWith('.nii.gz') && !n.startsWith('.') && !n.startsWith('_')).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    if (required) throw new UserError(`${folder}: folder not found (an MSD task needs imagesTr and labelsTr)`);
    return [];
  }
}

/** Writes each channel of a 4D image as its own 3D file; a 3D image is copied as channel 0000. */
async function splitImage(source: string, targetDir: string, numModalities: number): Promise<void> {
  const base = path.basename(source).slice(0, -'.nii.gz'.length);
  const vol = await readNifti(source);
  const target = (c: number): string => path.join(targetDir, `${base}_${String(c).padStart(4, '0')}.nii.gz`);
  if (vol.shape.length === 3) {
    await copyFile(source, target(0));
    return;
  }
  if (vol.shape.length !== 4) throw new UserError(`${source}: ${vol.shape.length}D image, cannot split into channels`);
  const [channels, ...spatial] = vol.shape;
  if (channels !== numModalities) {
    throw new UserError(`${source}: ${channels} channels but dataset.json declares ${numModalities} modalities`);
  }
  const size = spatial.reduce((a, b) => a * b, 1);
  for (let c = 0; c < channels; c++) {
    await writeNifti(target(c), vol.data.subarray(c * size, (c + 1) * size), spatial, vol.header);
  }
}

/** Runs `fn` over `items`, `limit` at a time. */
async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Converts the MSD task in `taskDir` into `rawDir`/DatasetXXX_Name (XXX = the task number, or `overrideId`).
 * The dataset is assembled in a temporary folder and renamed into place, so a failed run leaves nothing behind.
 */
export async function convertMsd(taskDir: string, rawDir: string, overrideId?: number): Promise<ConvertMsdResult> {
  const source = path.resolve(taskDir);
  const m = /^Task(\d+)_(.+)$/.exec(path.basename(source));
  if (!m) throw new UserError(`${source}: an MSD task folder must be named TaskXX_Name (e.g. Task04_Hippocampus)`);
  const id = overrideId ?? Number(m[1]);
  if (!Number.isInteger(id) || id < 1 || id > 999) throw new UserError(`dataset id ${id} must be an integer from 1 to 999`);

  const jsonFile = path.join(source, 'dataset.json');
  let msdJson: z.infer<typeof msdJsonSchema>;
  try {
    const parsed = msdJsonSchema.safeParse(JSON.parse(await readFile(jsonFile, 'utf8')));
    if (!parsed.success) throw new UserError(`${jsonFile}: not an MSD dataset.json\n${z.prettifyError(parsed.error)}`);
    msdJson = parsed.data;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new UserError(`${jsonFile}: dataset.json not found`);
    if (err instanceof SyntaxError) throw new UserError(`${jsonFile}: not valid JSON (${err.message})`);
    throw err;
  }

  const rawRoot = path.resolve(rawDir);
  const taken = await datasetFoldersWithId(rawRoot, id);
  if (taken.length > 0) {
    throw new UserError(`${rawRoot}: dataset id ${id} is already taken by ${taken.join(', ')}; choose another id`);
  }
  const datasetName = `Dataset${String(id).padStart(3, '0')}_${m[2]}`;
  // As upstream: labels inverted to name -> value, modality renamed channel_names, the file lists dropped.
  const { modality, labels, ...rest } = msdJson;
  delete rest.training;
  delete rest.test;
  const v2Json = parseDatasetJson(
    {
      ...rest,
      channel_names: modality,
      labels: Object.fromEntries(Object.entries(labels).map(([value, name]) => [name, Number(value)])),
      file_ending: '.nii.gz',
    },
    jsonFile,
  );

  const trainImages = await msdFiles(path.join(source, 'imagesTr'), true);
  const trainLabels = await msdFiles(path.join(source, 'labelsTr'), true);
  const testImages = await msdFiles(path.join(source, 'imagesTs'), false);
  const numModalities = Object.keys(modality).length;

  await mkdir(rawRoot, { recursive: true });
  const staging = path.join(rawRoot, `.${datasetName}.partial-${process.pid}`);
  const target = path.join(rawRoot, datasetName);
  try {
    for (const sub of ['imagesTr', 'labelsTr', 'imagesTs']) await mkdir(path.join(staging, sub), { recursive: true });
    const jobs = [
      ...trainImages.map((n) => () => splitImage(path.join(source, 'imagesTr', n), path.join(staging, 'imagesTr'), numModalities)),
      ...testImages.map((n) => () => splitImage(path.join(source, 'imagesTs', n), path.join(staging, 'imagesTs'), numModalities)),
      ...trainLabels.map((n) => () => copyFile(path.join(source, 'labelsTr', n), path.join(staging, 'labelsTr', n))),
    ];
    await forEachLimited(jobs, 4, (job) => job());
    await writeFileAtomic(path.join(staging, 'dataset.json'), new TextEncoder().encode(JSON.stringify(v2Json, null, 4)));
    await rename(staging, target);
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
  return { datasetName, datasetDir: target, numTrainingImages: trainImages.length, numTestImages: testImages.length };
}

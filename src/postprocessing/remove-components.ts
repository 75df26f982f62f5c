// nnU-Net's postprocessing functions (nnunetv2/postprocessing/remove_connected_components.py) and their application to
// a label map or a folder of label maps. A postprocessing is a list of steps, each a function name and its keyword
// arguments, exactly as upstream's postprocessing.pkl holds them.
import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';
import { type VoxelArray, readNifti, writeNifti } from '../io/nifti.js';
import { largestComponentMask } from './connected-components.js';
import type { LabelOrRegion } from '../planning/labels.js';

/** One label (int), one region (tuple of labels), or a list of those. Upstream's `labels_or_regions` kwarg. */
export type LabelsOrRegions = LabelOrRegion | readonly LabelOrRegion[];

export interface RemoveAllButLargestKwargs {
  labels_or_regions: LabelsOrRegions;
  background_label?: number;
}

/** The upstream functions a postprocessing may name; the only one nnU-Net's determine_postprocessing uses. */
export const PP_FUNCTION_NAMES = ['remove_all_but_largest_component_from_segmentation'] as const;
export type PostprocessingFunctionName = (typeof PP_FUNCTION_NAMES)[number];

/** The Python module of those functions: postprocessing.pkl names them as `<module>.<name>`. */
export const PP_MODULE = 'nnunetv2.postprocessing.remove_connected_components';

export interface PostprocessingStep {
  fn: PostprocessingFunctionName;
  kwargs: RemoveAllButLargestKwargs;
}

/** Every label value a labels_or_regions value covers; a list of regions covers their union, as upstream's mask OR. */
export function labelValuesOf(labelsOrRegions: LabelsOrRegions): number[] {
  const out: number[] = [];
  const walk = (v: LabelsOrRegions): void => {
    if (typeof v === 'number') out.push(v);
    else for (const item of v) walk(item);
  };
  walk(labelsOrRegions);
  return out;
}

/**
 * remove_all_but_largest_component_from_segmentation: of the voxels whose label is in `labelsOrRegions` (taken
 * together), all but the largest connected component are set to `backgroundLabel`. Returns a new array.
 */
export function removeAllButLargestComponentFromSegmentation<A extends VoxelArray>(
  segmentation: A,
  shape: readonly number[],
  labelsOrRegions: LabelsOrRegions,
  backgroundLabel = 0,
): A {
  const values = new Set(labelValuesOf(labelsOrRegions));
  const mask = new Uint8Array(segmentation.length);
  for (let i = 0; i < segmentation.length; i++) mask[i] = values.has(segmentation[i]) ? 1 : 0;
  const keep = largestComponentMask(mask, shape);
  const out = segmentation.slice() as A;
  for (let i = 0; i < out.length; i++) if (mask[i] && !keep[i]) out[i] = backgroundLabel;
  return out;
}

const FUNCTIONS: Record<PostprocessingFunctionName, <A extends VoxelArray>(seg: A, shape: readonly number[], kwargs: RemoveAllButLargestKwargs) => A> = {
  remove_all_but_largest_component_from_segmentation: (seg, shape, k) => removeAllButLargestComponentFromSegmentation(seg, shape, k.labels_or_regions, k.background_label ?? 0),
};

/** upstream apply_postprocessing: the steps in order. */
export function applyPostprocessing<A extends VoxelArray>(segmentation: A, shape: readonly number[], steps: readonly PostprocessingStep[]): A {
  let seg = segmentation;
  for (const step of steps) seg = FUNCTIONS[step.fn](seg, shape, step.kwargs);
  return seg;
}

/** load_postprocess_save: one label map file through the steps, written with its own geometry and dtype. */
export async function postprocessFile(inputFile: string, outputFile: string, steps: readonly PostprocessingStep[]): Promise<void> {
  const vol = await readNifti(inputFile);
  await writeNifti(outputFile, applyPostprocessing(vol.data, vol.shape, steps), vol.shape, vol.header);
}

/** Label map files (`*<fileEnding>`) of a folder, sorted. */
export async function segmentationFiles(dir: string, fileEnding: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    throw new UserError(`${dir}: folder not found`);
  }
  return names.filter((n) => n.endsWith(fileEnding) && !n.startsWith('.')).sort();
}

/** apply_postprocessing_to_folder: every `*<fileEnding>` of `inputDir` into `outputDir` (created). Returns the names. */
export async function applyPostprocessingToFolder(
  inputDir: string,
  outputDir: string,
  steps: readonly PostprocessingStep[],
  options: { fileEnding: string; numWorkers?: number },
): Promise<string[]> {
  const files = await segmentationFiles(inputDir, options.fileEnding);
  await mkdir(outputDir, { recursive: true });
  // a few files in flight overlap reading, gunzip and writing; the labeling itself is synchronous
  const batch = options.numWorkers ?? 2;
  for (let i = 0; i < files.length; i += batch) {
    await Promise.all(files.slice(i, i + batch).map((f) => postprocessFile(path.join(inputDir, f), path.join(outputDir, f), steps)));
  }
  return files;
}

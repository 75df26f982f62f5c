// nnU-Net's accumulate_cv_results (evaluation/accumulate_cv_results.py): copy every fold's validation predictions of a
// model into one folder, crossval_results_folds_<f0_f1_...>/ beside the folds (with the model's dataset.json and
// plans.json), and evaluate them together into its summary.json. Evaluating the merged folder, rather than averaging
// the folds' summaries, is upstream's way of weighting every case once.
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';
import { loadDatasetJson } from '../planning/dataset-json.js';
import { labelManagerFrom } from '../planning/labels.js';
import { evaluateFolder, evaluationLabelsFrom } from './evaluate-folder.js';
import { readSummaryJson, type Summary } from './summary.js';

/** upstream folds_tuple_to_string: (0, 1, 2) → "0_1_2". */
export function foldsToString(folds: readonly (number | string)[]): string {
  return folds.join('_');
}

export function crossvalFolderName(folds: readonly (number | string)[]): string {
  return `crossval_results_folds_${foldsToString(folds)}`;
}

/** The references cross-validation is scored against: nnUNet_raw's labelsTr when it is there, else gt_segmentations. */
export function crossvalReferenceDir(preprocessedDatasetDir: string, rawDatasetDir?: string): string {
  const labelsTr = rawDatasetDir === undefined ? undefined : path.join(rawDatasetDir, 'labelsTr');
  return labelsTr !== undefined && existsSync(labelsTr) ? labelsTr : path.join(preprocessedDatasetDir, 'gt_segmentations');
}

export interface AccumulateOptions {
  /** Folder of the reference label maps (see crossvalReferenceDir). */
  referenceDir: string;
  numWorkers?: number;
  /** Default true: start from an empty merged folder, and a case predicted by two folds is an error. */
  overwrite?: boolean;
  /** How to make a missing fold, for the error message (default: "train it"). */
  trainHint?: (fold: number | string) => string;
}

/** Merges the folds' validation predictions of `modelDir` into `mergedDir` and returns its summary. */
export async function accumulateCvResults(modelDir: string, mergedDir: string, folds: readonly (number | string)[], options: AccumulateOptions): Promise<Summary> {
  const overwrite = options.overwrite ?? true;
  if (overwrite) await rm(mergedDir, { recursive: true, force: true });
  await mkdir(mergedDir, { recursive: true });
  const datasetJsonFile = path.join(modelDir, 'dataset.json');
  const datasetJson = await loadDatasetJson(datasetJsonFile);
  for (const name of ['dataset.json', 'plans.json']) await copyFile(path.join(modelDir, name), path.join(mergedDir, name));

  const missing = folds.filter((f) => !existsSync(path.join(modelDir, `fold_${f}`, 'validation')));
  if (missing.length) {
    const how = options.trainHint ? missing.map((f) => `  ${options.trainHint?.(f)}`).join('\n') : '  train them';
    throw new UserError(`${modelDir}: fold(s) ${missing.join(', ')} have no validation/ folder; make them with:\n${how}`);
  }
  let copied = false;
  const seen = new Map<string, number | string>();
  for (const f of folds) {
    const validation = path.join(modelDir, `fold_${f}`, 'validation');
    const files = (await readdir(validation)).filter((n) => n.endsWith(datasetJson.file_ending) && !n.startsWith('.')).sort();
    for (const file of files) {
      const earlier = seen.get(file);
      if (earlier !== undefined) throw new UserError(`${modelDir}: case ${file} is predicted by both fold ${earlier} and fold ${f} (the folds overlap)`);
      seen.set(file, f);
      const target = path.join(mergedDir, file);
      if (overwrite || !existsSync(target)) {
        await copyFile(path.join(validation, file), target);
        copied = true;
      }
    }
  }
  const summaryFile = path.join(mergedDir, 'summary.json');
  if (copied || !existsSync(summaryFile)) {
    return evaluateFolder(options.referenceDir, mergedDir, {
      ...evaluationLabelsFrom(labelManagerFrom(datasetJson, datasetJsonFile)),
      fileEnding: datasetJson.file_ending,
      outputFile: summaryFile,
      numWorkers: options.numWorkers,
      // upstream scores the predicted cases, each of which must have a reference
      chill: true,
    });
  }
  return readSummaryJson(summaryFile);
}

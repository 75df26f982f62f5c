/**
 * nnUNetv2_evaluate_folder / evaluate_simple: compare every prediction in a folder with the reference
 * of the same name, write summary.json, return the summary.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { UserError } from '../errors.js';
import { readNifti } from '../io/nifti.js';
import type { LabelManager } from '../planning/labels.js';
import { computeCaseMetrics, type LabelOrRegion } from './metrics.js';
import { summarize, writeSummaryJson, type CaseResult, type Summary } from './summary.js';

export type EvaluateFolderOptions = {
  /** Labels (ints) or regions (lists of ints) to evaluate; label 0 is left out of foreground_mean. */
  labels: readonly LabelOrRegion[];
  /** Reference voxels with this label are excluded from all counts. */
  ignoreLabel?: number;
  fileEnding?: string;
  /** Where summary.json goes; default `<predDir>/summary.json`; null writes nothing. */
  outputFile?: string | null;
  /** Cases evaluated concurrently (file reading and decompression overlap). */
  numWorkers?: number;
  /** Allow references without a prediction (nnU-Net's --chill); only predicted cases are evaluated. */
  chill?: boolean;
};

/** What upstream scores for a dataset: its foreground labels (or regions), with the ignore label's voxels left out. */
export function evaluationLabelsFrom(labels: LabelManager): Pick<EvaluateFolderOptions, 'labels' | 'ignoreLabel'> {
  return { labels: labels.evaluationClasses, ignoreLabel: labels.ignoreLabel ?? undefined };
}

const optionsSchema = z.object({
  labels: z.array(z.union([z.number().int().nonnegative(), z.array(z.number().int().nonnegative()).min(1)])).min(1),
  ignoreLabel: z.number().int().nonnegative().optional(),
  fileEnding: z.string().min(1).default('.nii.gz'),
  outputFile: z.string().min(1).nullable().optional(),
  numWorkers: z.number().int().positive().default(4),
  chill: z.boolean().default(false),
});

async function listCases(dir: string, fileEnding: string, what: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw new UserError(`${what} folder ${dir} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return names.filter((n) => n.endsWith(fileEnding)).sort();
}

async function evaluateCase(
  referenceFile: string,
  predictionFile: string,
  labels: readonly LabelOrRegion[],
  ignoreLabel: number | undefined,
): Promise<CaseResult> {
  const [ref, pred] = await Promise.all([readNifti(referenceFile), readNifti(predictionFile)]);
  if (ref.shape.length !== pred.shape.length || ref.shape.some((s, i) => s !== pred.shape[i])) {
    throw new UserError(
      `${predictionFile} has shape [${pred.shape}] but its reference ${referenceFile} has shape [${ref.shape}]`,
    );
  }
  let metrics;
  try {
    metrics = computeCaseMetrics(ref.data, pred.data, labels, ignoreLabel);
  } catch (err) {
    if (err instanceof RangeError) throw new UserError(`${predictionFile} vs ${referenceFile}: ${err.message}`);
    throw err;
  }
  return { metrics, prediction_file: predictionFile, reference_file: referenceFile };
}

/** Run `task` over `items` with at most `limit` in flight, keeping the input order in the result. */
async function mapLimited<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]);
    }
  });
  await Promise.all(runners);
  return results;
}

export async function evaluateFolder(refDir: string, predDir: string, options: EvaluateFolderOptions): Promise<Summary> {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) throw new UserError(`evaluation options: ${z.prettifyError(parsed.error)}`);
  const { labels, ignoreLabel, fileEnding, numWorkers, chill } = parsed.data;

  const refFiles = await listCases(refDir, fileEnding, 'reference');
  const predFiles = await listCases(predDir, fileEnding, 'prediction');
  const refSet = new Set(refFiles);
  const extra = predFiles.filter((f) => !refSet.has(f));
  if (extra.length > 0) {
    throw new UserError(`${predDir}: predictions without a reference in ${refDir}: ${extra.join(', ')}`);
  }
  const predSet = new Set(predFiles);
  const missing = refFiles.filter((f) => !predSet.has(f));
  if (missing.length > 0 && !chill) {
    throw new UserError(`${predDir}: no prediction for reference case(s) ${missing.join(', ')} (pass --chill to evaluate only the predicted cases)`);
  }
  if (predFiles.length === 0) throw new UserError(`${predDir} holds no *${fileEnding} predictions`);

  const cases = await mapLimited(predFiles, numWorkers, (f) =>
    evaluateCase(join(refDir, f), join(predDir, f), labels, ignoreLabel),
  );
  const summary = summarize(cases);
  const outputFile = parsed.data.outputFile === undefined ? join(predDir, 'summary.json') : parsed.data.outputFile;
  if (outputFile !== null) await writeSummaryJson(summary, outputFile);
  return summary;
}

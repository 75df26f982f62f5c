/**
 * nnU-Net's summary.json (evaluation/evaluate_predictions.py, compute_metrics_on_folder):
 * `metric_per_case`, `mean` (per class, nanmean over cases) and `foreground_mean`
 * (plain mean over the class means, label 0 excluded, so one NaN class mean makes it NaN).
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../atomic-write.js';
import { METRIC_NAMES, type ClassMetrics } from './metrics.js';
import { parsePythonJson, stringifyPythonJson } from './python-json.js';

export type CaseResult = {
  metrics: Record<string, ClassMetrics>;
  prediction_file: string;
  reference_file: string;
};

export type Summary = {
  foreground_mean: ClassMetrics;
  mean: Record<string, ClassMetrics>;
  metric_per_case: CaseResult[];
};

/** Mean of the non-NaN values; NaN when there are none (numpy's nanmean, minus its warning). */
function nanMean(values: readonly number[]): number {
  let sum = 0;
  let n = 0;
  for (const v of values) {
    if (Number.isNaN(v)) continue;
    sum += v;
    n++;
  }
  return n === 0 ? NaN : sum / n;
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

function metricsFrom(pick: (name: (typeof METRIC_NAMES)[number]) => number): ClassMetrics {
  const out = {} as ClassMetrics;
  for (const name of METRIC_NAMES) out[name] = pick(name);
  return out;
}

/** Build the summary from per-case results; every case must hold the same class keys. */
export function summarize(cases: readonly CaseResult[]): Summary {
  if (cases.length === 0) throw new UserError('no cases to summarize: the prediction folder holds no matching files');
  const keys = Object.keys(cases[0].metrics);
  for (const c of cases) {
    const k = Object.keys(c.metrics);
    if (k.length !== keys.length || keys.some((key) => !(key in c.metrics))) {
      throw new Error(`${c.prediction_file} has classes [${k}] but the first case has [${keys}]`);
    }
  }
  const means: Record<string, ClassMetrics> = {};
  for (const key of keys) means[key] = metricsFrom((m) => nanMean(cases.map((c) => c.metrics[key][m])));
  const foreground = keys.filter((k) => k !== '0');
  return {
    foreground_mean: metricsFrom((m) => mean(foreground.map((k) => means[k][m]))),
    mean: means,
    metric_per_case: cases.map((c) => ({ ...c })),
  };
}

/** Write summary.json as nnU-Net does (NaN as a bare token, sorted keys, indent 4), atomically. */
export async function writeSummaryJson(summary: Summary, file: string): Promise<void> {
  await writeFileAtomic(file, Buffer.from(stringifyPythonJson(summary), 'utf8'));
}

// z.number() rejects NaN, which nnU-Net writes for classes empty in both reference and prediction
const metric = z.union([z.number(), z.nan()]);
const classMetricsSchema = z.object({
  Dice: metric,
  FN: metric,
  FP: metric,
  IoU: metric,
  TN: metric,
  TP: metric,
  n_pred: metric,
  n_ref: metric,
});

const summarySchema = z.object({
  foreground_mean: classMetricsSchema,
  mean: z.record(z.string(), classMetricsSchema),
  metric_per_case: z.array(
    z.object({
      metrics: z.record(z.string(), classMetricsSchema),
      prediction_file: z.string(),
      reference_file: z.string(),
    }),
  ),
});

/** Read a summary.json written by this code or by nnU-Net itself. */
export async function readSummaryJson(file: string): Promise<Summary> {
  let parsed: unknown;
  try {
    parsed = parsePythonJson(await readFile(file, 'utf8'));
  } catch (err) {
    throw new UserError(`${file}: cannot read summary (${(err as Error).message})`);
  }
  const result = summarySchema.safeParse(parsed);
  if (!result.success) throw new UserError(`${file} is not an nnU-Net summary.json: ${z.prettifyError(result.error)}`);
  return result.data;
}

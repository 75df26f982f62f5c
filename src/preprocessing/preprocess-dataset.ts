/**
 * `nnUNetv2_preprocess` for one dataset: copies dataset.json and the raw labels (gt_segmentations/) to
 * nnUNet_preprocessed, then preprocesses every training case of each configuration in worker threads. Finished
 * cases whose stored preprocessing hash matches the current plans are skipped, so an interrupted or repeated
 * run only does what is missing.
 */
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../worker-thread.js';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../atomic-write.js';
import { loadDatasetJson, type DatasetJson } from '../planning/dataset-json.js';
import { type Plans, readPlansFile, resolveConfiguration } from '../planning/plans-schema.js';
import { type TrainingCase, listTrainingCases } from '../planning/raw-dataset.js';
import { availableCores } from '../torch/index.js';
import { preprocessingHash } from './preprocess-case.js';
import { caseFiles, listPreprocessedCases, readCaseProperties } from './preprocessed-store.js';
import type { PreprocessReply, PreprocessTask, PreprocessWorkerData } from './preprocess-worker.js';

export interface PreprocessProgress {
  configuration: string;
  /** Cases finished in this run plus those skipped as already done. */
  done: number;
  total: number;
  skipped: number;
  /** The case just finished (absent on the first report of a configuration). */
  caseId?: string;
}

export interface PreprocessDatasetOptions {
  /** DatasetXXX_Name. */
  datasetName: string;
  configurations: string[];
  /** Worker threads: one number for all configurations or one per configuration. */
  numProcesses: number | number[];
  /** The nnUNet_raw and nnUNet_preprocessed base folders. */
  rawDir: string;
  preprocessedDir: string;
  /** Default 'nnUNetPlans'. */
  plansName?: string;
  onProgress?: (progress: PreprocessProgress) => void;
}

export interface PreprocessConfigurationResult {
  configuration: string;
  outputDir: string;
  processed: string[];
  skipped: string[];
}

/** Copies a file so that readers never see a partial copy. */
async function copyFileAtomic(from: string, to: string): Promise<void> {
  await writeFileAtomic(to, await readFile(from));
}

/** Whether a finished case was made with the current settings (a missing or unreadable .json counts as not). */
async function isCurrent(dir: string, caseId: string, hash: string): Promise<boolean> {
  try {
    return (await readCaseProperties(dir, caseId)).preprocessing_hash === hash;
  } catch {
    return false;
  }
}

/** Removes temp files of interrupted writes and the cases of identifiers no longer in the dataset. */
async function removeStale(dir: string, identifiers: ReadonlySet<string>): Promise<void> {
  const names = await readdir(dir);
  await Promise.all(names.filter((n) => n.startsWith('.') && n.endsWith('.tmp')).map((n) => rm(path.join(dir, n), { force: true })));
  const stale = (await listPreprocessedCases(dir)).filter((id) => !identifiers.has(id));
  await Promise.all(stale.flatMap((id) => caseFiles(dir, id).map((f) => rm(f, { force: true }))));
}

function spawnWorker(data: PreprocessWorkerData, threads: number): Worker {
  return startWorker(import.meta.url, 'preprocess-worker', { workerData: data, env: { ...process.env, NNUNET_NUM_THREADS: String(threads) } });
}

/** Runs `tasks` on `numWorkers` threads; rejects on the first failed case (UserErrors stay UserErrors). */
async function runPool(tasks: PreprocessTask[], numWorkers: number, data: PreprocessWorkerData, onDone: (caseId: string) => void): Promise<void> {
  if (tasks.length === 0) return;
  const count = Math.max(1, Math.min(numWorkers, tasks.length));
  const threads = Math.max(1, Math.floor(availableCores() / count));
  const workers: Worker[] = [];
  let next = 0;
  let finished = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      const feed = (w: Worker): void => {
        if (next < tasks.length) w.postMessage(tasks[next++]);
      };
      for (let i = 0; i < count; i++) {
        const w = spawnWorker(data, threads);
        workers.push(w);
        w.on('message', (reply: PreprocessReply) => {
          if (!reply.ok) {
            const message = `preprocessing case ${reply.caseId} failed: ${reply.message}`;
            reject(reply.name === 'UserError' ? new UserError(message) : new Error(message));
            return;
          }
          onDone(reply.caseId);
          if (++finished === tasks.length) resolve();
          else feed(w);
        });
        w.on('error', (err) => reject(new Error(`preprocessing worker crashed: ${err.message}`)));
        w.on('exit', (code) => {
          if (finished < tasks.length) reject(new Error(`preprocessing worker exited with code ${code} (out of memory? try fewer processes)`));
        });
        feed(w);
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** Copies dataset.json and every training label (as gt_segmentations/<case><file_ending>). */
async function copyDatasetFiles(rawDataset: string, outBase: string, json: DatasetJson, cases: readonly TrainingCase[]): Promise<void> {
  const gtDir = path.join(outBase, 'gt_segmentations');
  await mkdir(gtDir, { recursive: true });
  await copyFileAtomic(path.join(rawDataset, 'dataset.json'), path.join(outBase, 'dataset.json'));
  for (const c of cases) await copyFileAtomic(c.label, path.join(gtDir, `${c.identifier}${json.file_ending}`));
}

function processesFor(option: number | number[], index: number, configurations: readonly string[]): number {
  if (!Array.isArray(option)) return option;
  if (option.length !== configurations.length) {
    throw new UserError(`-np: give one process count or one per configuration (${configurations.length}), got ${option.length}`);
  }
  return option[index];
}

/** Preprocesses every training case of `datasetName` for each configuration; returns what was done and skipped. */
export async function preprocessDataset(options: PreprocessDatasetOptions): Promise<PreprocessConfigurationResult[]> {
  const rawDataset = path.join(options.rawDir, options.datasetName);
  const outBase = path.join(options.preprocessedDir, options.datasetName);
  const plansName = options.plansName ?? 'nnUNetPlans';
  const json = await loadDatasetJson(path.join(rawDataset, 'dataset.json'));
  const cases = await listTrainingCases(rawDataset, json);
  const plans: Plans = await readPlansFile(path.join(outBase, `${plansName}.json`));
  // Resolve every configuration before writing anything, so a typo fails fast.
  const configs = options.configurations.map((name) => ({ name, config: resolveConfiguration(plans, name) }));
  options.configurations.forEach((_, i) => {
    const n = processesFor(options.numProcesses, i, options.configurations);
    if (!Number.isInteger(n) || n < 1) throw new UserError(`-np: process counts must be positive integers, got ${n}`);
  });

  await copyDatasetFiles(rawDataset, outBase, json, cases);
  const identifiers = new Set(cases.map((c) => c.identifier));
  const results: PreprocessConfigurationResult[] = [];
  for (const [index, { name, config }] of configs.entries()) {
    const outputDir = path.join(outBase, config.data_identifier);
    await mkdir(outputDir, { recursive: true });
    await removeStale(outputDir, identifiers);
    const hash = preprocessingHash(plans, name, json);
    const finished = new Set(await listPreprocessedCases(outputDir));
    const current = await Promise.all(cases.map((c) => (finished.has(c.identifier) ? isCurrent(outputDir, c.identifier, hash) : false)));
    const skipped = cases.filter((_, i) => current[i]).map((c) => c.identifier);
    const todo = cases.filter((_, i) => !current[i]);
    const progress: PreprocessProgress = { configuration: name, done: skipped.length, total: cases.length, skipped: skipped.length };
    options.onProgress?.({ ...progress });
    const tasks = todo.map((c) => ({ caseId: c.identifier, images: c.images, label: c.label }));
    const data: PreprocessWorkerData = { plans, configurationName: name, datasetJson: { labels: json.labels, regions_class_order: json.regions_class_order }, outputDir, hash };
    await runPool(tasks, processesFor(options.numProcesses, index, options.configurations), data, (caseId) => {
      progress.done++;
      options.onProgress?.({ ...progress, caseId });
    });
    results.push({ configuration: name, outputDir, processed: todo.map((c) => c.identifier), skipped });
  }
  return results;
}

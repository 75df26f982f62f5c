/**
 * `nnUNetv2_plan_and_preprocess` as library steps for the CLI: (optionally) verify the raw dataset, check the
 * geometry of every case, extract the fingerprint, plan, preprocess. Nothing is written under nnUNet_preprocessed
 * until the dataset has been read completely without error, so a broken dataset leaves that folder untouched.
 */
import { access, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../atomic-write.js';
import { acquireFolderLock } from '../io/folder-lock.js';
import { loadDatasetJson } from '../planning/dataset-json.js';
import { getPlanner, planExperiment } from '../planning/experiment-planner.js';
import { extractFingerprint, writeFingerprint } from '../planning/fingerprint.js';
import { baseFolder, resolveDatasetName } from '../planning/paths.js';
import { type DatasetFingerprint, type Plans, parsePlans, readFingerprintFile, readPlansFile } from '../planning/plans-schema.js';
import { checkTrainingGeometry } from '../planning/geometry-check.js';
import { formatProblems, listTrainingCases } from '../planning/raw-dataset.js';
import { assertDatasetIntegrity } from '../planning/verify-dataset.js';
import { type PreprocessConfigurationResult, type PreprocessProgress, preprocessDataset } from './preprocess-dataset.js';

/** Base folders; each falls back to its environment variable (nnUNet_raw, nnUNet_preprocessed). */
export interface NnunetDirs {
  raw?: string;
  preprocessed?: string;
}

export interface DatasetStepOptions {
  /** Dataset id (4, "004") or full name (Dataset004_Hippocampus). */
  datasetId: string | number;
  dirs?: NnunetDirs;
}

export interface FingerprintStepOptions extends DatasetStepOptions {
  /** Run the full integrity check first (upstream's --verify_dataset_integrity); default false. */
  verifyIntegrity?: boolean;
  /** Cases read at a time (upstream's -npfp); default 8. */
  numProcesses?: number;
  /** Recompute the fingerprint even if dataset_fingerprint.json exists (upstream's --clean); default false. */
  clean?: boolean;
  /**
   * Go on when a label or channel is misaligned with channel 0 by more than half a voxel (origin, direction or
   * spacing), with a warning; default false: refused.
   */
  allowGeometryMismatch?: boolean;
  /** Receives each warning (geometry within half a voxel, integrity warnings) as one line; default console.warn. */
  onWarning?: (line: string) => void;
  onProgress?: (done: number, total: number) => void;
}

export interface PlanStepOptions extends DatasetStepOptions {
  /** Upstream's planner class name (`-pl`): 'ExperimentPlanner' (default), 'nnUNetPlannerResEncM', ... */
  planner?: string;
  /** Default: the planner's ('nnUNetPlans' for ExperimentPlanner, 'nnUNetResEncUNetMPlans' for ResEnc M, ...). */
  plansName?: string;
  /** Default: the planner's (8 GB for ExperimentPlanner and ResEnc M, 24 for L, 40 for XL). */
  gpuMemoryTargetGB?: number;
  preprocessorName?: string;
  overwriteTargetSpacing?: number[];
}

export const DEFAULT_CONFIGURATIONS = ['2d', '3d_fullres', '3d_lowres'];
/** Upstream's default -np per configuration. */
const DEFAULT_PROCESSES: Record<string, number> = { '2d': 8, '3d_fullres': 4, '3d_lowres': 8 };

export interface PreprocessStepOptions extends DatasetStepOptions {
  /** Default: those of 2d, 3d_fullres and 3d_lowres that the plans contain. */
  configurations?: string[];
  /** One count for all configurations or one per configuration; default upstream's 8 / 4 / 8. */
  numProcesses?: number | number[];
  plansName?: string;
  onProgress?: (progress: PreprocessProgress) => void;
}

export interface PlanAndPreprocessOptions extends FingerprintStepOptions, PlanStepOptions {
  configurations?: string[];
  /** Worker threads for preprocessing (upstream's -np). */
  numProcesses?: number;
  /** Fingerprint concurrency (upstream's -npfp); default 8. */
  fingerprintProcesses?: number;
  /** Stop after planning (upstream's --no_pp). */
  noPreprocessing?: boolean;
  onFingerprintProgress?: (done: number, total: number) => void;
  onPreprocessProgress?: (progress: PreprocessProgress) => void;
}

interface Resolved {
  datasetName: string;
  rawDataset: string;
  rawDir: string;
  preprocessedDir: string;
  outBase: string;
}

async function resolveDataset(options: DatasetStepOptions): Promise<Resolved> {
  const rawDir = baseFolder('raw', options.dirs?.raw);
  const preprocessedDir = baseFolder('preprocessed', options.dirs?.preprocessed);
  const datasetName = await resolveDatasetName(options.datasetId, rawDir);
  return { datasetName, rawDir, preprocessedDir, rawDataset: path.join(rawDir, datasetName), outBase: path.join(preprocessedDir, datasetName) };
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

const LOCK_COMMAND = 'nnunet plan-and-preprocess';

/**
 * Runs `write` holding the lock of the preprocessed dataset folder (created first), so that two
 * plan-and-preprocess runs of one dataset never write into each other's files.
 */
async function underDatasetLock<T>(outBase: string, write: () => Promise<T>): Promise<T> {
  await mkdir(outBase, { recursive: true });
  const lock = await acquireFolderLock(outBase, { command: LOCK_COMMAND });
  try {
    return await write();
  } finally {
    lock.release();
  }
}

function writeJson(file: string, value: unknown): Promise<void> {
  return writeFileAtomic(file, new TextEncoder().encode(JSON.stringify(value, null, 4)));
}

/**
 * Verifies (if asked), checks the geometry of every case and fingerprints the dataset, writing
 * `dataset_fingerprint.json`; reuses an existing one unless `clean`. The geometry is checked on every run, a reused
 * fingerprint included, since the preprocessing that follows uses the labels as they are.
 */
export async function extractFingerprintStep(options: FingerprintStepOptions): Promise<{ datasetName: string; file: string; fingerprint: DatasetFingerprint }> {
  const r = await resolveDataset(options);
  // a run while another holds the dataset is refused now, not after its integrity check and fingerprint have read
  // every case (the lock is taken again for the write: this is only the early answer)
  if (await exists(r.outBase)) (await acquireFolderLock(r.outBase, { command: LOCK_COMMAND })).release();
  const file = path.join(r.outBase, 'dataset_fingerprint.json');
  const warn = options.onWarning ?? ((line: string) => console.warn(line));
  const allowMismatch = options.allowGeometryMismatch ?? false;
  if (options.verifyIntegrity) {
    const report = await assertDatasetIntegrity(r.rawDataset, { concurrency: options.numProcesses, allowGeometryMismatch: allowMismatch });
    for (const p of report.problems) warn(formatProblems([p])); // only warnings are left: errors threw
  }
  const json = await loadDatasetJson(path.join(r.rawDataset, 'dataset.json'));
  const cases = await listTrainingCases(r.rawDataset, json);
  // The integrity check has compared the geometry already; otherwise the headers alone, before any voxel is read.
  if (!options.verifyIntegrity) await checkTrainingGeometry(cases, { allowMismatch, onWarning: warn });
  if (!options.clean && (await exists(file))) return { datasetName: r.datasetName, file, fingerprint: await readFingerprintFile(file) };
  const fingerprint = await extractFingerprint(cases, { concurrency: options.numProcesses ?? 8, onProgress: options.onProgress });
  await underDatasetLock(r.outBase, () => writeFingerprint(file, fingerprint));
  return { datasetName: r.datasetName, file, fingerprint };
}

/**
 * Plans from the fingerprint and writes `<plansName>.json` and a copy of dataset.json. Configurations of an
 * existing plans file that the planner does not make (custom ones) are kept, as upstream does.
 */
export async function planStep(options: PlanStepOptions): Promise<{ file: string; plans: Plans }> {
  const r = await resolveDataset(options);
  const planner = getPlanner(options.planner);
  const plansName = options.plansName ?? planner.plansName;
  const fingerprint = await readFingerprintFile(path.join(r.outBase, 'dataset_fingerprint.json'));
  const jsonFile = path.join(r.rawDataset, 'dataset.json');
  const json = await loadDatasetJson(jsonFile);
  const plans = planExperiment(fingerprint, json, {
    datasetName: r.datasetName,
    planner: planner.name,
    plansName,
    gpuMemoryTargetGB: options.gpuMemoryTargetGB,
    preprocessorName: options.preprocessorName,
    overwriteTargetSpacing: options.overwriteTargetSpacing,
  });
  const file = path.join(r.outBase, `${plansName}.json`);
  await underDatasetLock(r.outBase, async () => {
    if (await exists(file)) {
      const old = await readPlansFile(file);
      for (const [name, config] of Object.entries(old.configurations)) plans.configurations[name] ??= config;
    }
    await writeJson(file, plans);
    await writeFileAtomic(path.join(r.outBase, 'dataset.json'), await readFile(jsonFile));
  });
  return { file, plans: parsePlans(plans, file) };
}

/** Preprocesses the configurations of the plans (by default those of 2d / 3d_fullres / 3d_lowres it contains). */
export async function preprocessStep(options: PreprocessStepOptions): Promise<PreprocessConfigurationResult[]> {
  const r = await resolveDataset(options);
  const plansName = options.plansName ?? 'nnUNetPlans';
  const plans = await readPlansFile(path.join(r.outBase, `${plansName}.json`));
  const configurations = options.configurations ?? DEFAULT_CONFIGURATIONS.filter((c) => c in plans.configurations);
  if (configurations.length === 0) throw new UserError(`${plansName}.json: none of ${DEFAULT_CONFIGURATIONS.join(', ')} is planned`);
  const numProcesses = options.numProcesses ?? configurations.map((c) => DEFAULT_PROCESSES[c] ?? 4);
  return underDatasetLock(r.outBase, () => preprocessDataset({
    datasetName: r.datasetName,
    configurations,
    numProcesses,
    rawDir: r.rawDir,
    preprocessedDir: r.preprocessedDir,
    plansName,
    onProgress: options.onProgress,
  }));
}

export interface PlanAndPreprocessResult {
  datasetName: string;
  plans: Plans;
  preprocessed: PreprocessConfigurationResult[];
}

/**
 * The whole of `nnUNetv2_plan_and_preprocess`: fingerprint (verifying first if asked), plan, preprocess. The
 * configurations are preprocessed into their data_identifier folders, so a ResEnc plan's 2d / 3d_fullres land in
 * (and reuse) nnUNetPlans_2d / nnUNetPlans_3d_fullres, as upstream's.
 */
export async function planAndPreprocess(options: PlanAndPreprocessOptions): Promise<PlanAndPreprocessResult> {
  getPlanner(options.planner); // an unknown planner fails before the fingerprint is computed
  const { datasetName } = await extractFingerprintStep({
    ...options,
    numProcesses: options.fingerprintProcesses,
    onProgress: options.onFingerprintProgress,
  });
  const { plans } = await planStep(options);
  const preprocessed = options.noPreprocessing
    ? []
    : await preprocessStep({
        datasetId: datasetName,
        dirs: options.dirs,
        plansName: plans.plans_name,
        numProcesses: options.numProcesses,
        onProgress: options.onPreprocessProgress,
        configurations:
          options.configurations?.filter((c) => c in plans.configurations) ??
          DEFAULT_CONFIGURATIONS.filter((c) => c in plans.configurations),
      });
  return { datasetName, plans, preprocessed };
}

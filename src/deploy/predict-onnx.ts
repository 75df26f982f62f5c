// `nnunet predict --backend onnx`: an export folder (DIR/model.{onnx,json}, or DIR/fold_X/model.{onnx,json} for
// several folds, averaged) applied to a folder of raw images with onnxruntime-node and the portable pipeline, the
// same code the browser runs. Outputs are those of the libtorch backend: <case><file_ending>, with saveProbabilities
// <case>.npz (probabilities) + <case>.json (properties), and dataset.json (no plans.json: an export has no full plans).
import { access, mkdir, readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../atomic-write.js';
import { UserError } from '../errors.js';
import { findInputCases } from '../inference/input-files.js';
import { type FolderLock, acquireFolderLock } from '../io/folder-lock.js';
import { writeNpz } from '../io/npz.js';
import { type ModelJson, parseModelJson } from '../portable/model-json.js';
import { readJson } from '../planning/plans-schema.js';
import { segmentCase } from '../portable/segment.js';
import { MODEL_JSON_FILE } from './export-onnx.js';
import { type OnnxRunner, createOnnxRunner } from './onnx-runner.js';

export interface OnnxExport {
  /** model.json of the first fold; every fold shares its preprocessing and labels. */
  model: ModelJson;
  /** One folder per fold holding model.onnx + model.json. */
  foldFolders: string[];
  models: ModelJson[];
}

async function readModelJson(file: string): Promise<ModelJson> {
  return parseModelJson(await readJson(file), file);
}

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );

/** What must agree between folds for their logits to be averaged. */
const preprocessingOf = (m: ModelJson) => JSON.stringify([m.dataset, m.configuration, m.transpose_forward, m.foreground_intensity_properties_per_channel, m.network.num_classes, m.network.input_channels]);

/** Reads an export folder in either layout; `folds` picks some of its folds (default: all). */
export async function readOnnxExport(dir: string, folds?: readonly (number | 'all')[]): Promise<OnnxExport> {
  let foldFolders: string[];
  if (await exists(path.join(dir, MODEL_JSON_FILE))) foldFolders = [dir];
  else {
    const entries = await readdir(dir).catch(() => {
      throw new UserError(`${dir}: export folder not found`);
    });
    foldFolders = [];
    for (const name of entries.sort()) {
      if (/^fold_(\d+|all)$/.test(name) && (await exists(path.join(dir, name, MODEL_JSON_FILE)))) foldFolders.push(path.join(dir, name));
    }
    if (foldFolders.length === 0) throw new UserError(`${dir}: no ${MODEL_JSON_FILE} (neither ${dir}/${MODEL_JSON_FILE} nor fold_X/${MODEL_JSON_FILE}); export the model with \`nnunet export-onnx\` first`);
  }
  let models = await Promise.all(foldFolders.map((f) => readModelJson(path.join(f, MODEL_JSON_FILE))));
  if (folds) {
    const missing = folds.filter((f) => !models.some((m) => m.fold === f));
    if (missing.length) throw new UserError(`${dir}: the export has fold(s) ${models.map((m) => m.fold).join(', ')}, not ${missing.join(', ')}`);
    foldFolders = foldFolders.filter((_, i) => folds.includes(models[i].fold));
    models = models.filter((m) => folds.includes(m.fold));
  }
  models.forEach((m, i) => {
    if (preprocessingOf(m) !== preprocessingOf(models[0])) {
      throw new UserError(`${foldFolders[i]}: its model.json differs from ${foldFolders[0]}'s in configuration, labels or normalization; folds of one export must come from one model`);
    }
  });
  return { model: models[0], foldFolders, models };
}

export async function openRunners(exp: OnnxExport, threads?: number): Promise<OnnxRunner[]> {
  const runners: OnnxRunner[] = [];
  try {
    for (const [i, folder] of exp.foldFolders.entries()) {
      const net = exp.models[i].network;
      runners.push(await createOnnxRunner(path.join(folder, net.onnx_file), { inputName: net.input_name, outputName: net.output_name, threads }));
    }
  } catch (err) {
    await Promise.all(runners.map((r) => r.release()));
    throw err;
  }
  return runners;
}

/** Properties as JSON: non-finite header numbers (a NaN scl_slope means "unscaled") as 0, as the libtorch backend. */
const propertiesJson = (properties: unknown): string => JSON.stringify(properties, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? 0 : v));

export interface PredictOnnxOptions {
  inputFolder: string;
  outputFolder: string;
  exportFolder: string;
  /** Folds of the export to average; default: all it holds. */
  folds?: (number | 'all')[];
  /** Default 0.5. */
  stepSize?: number;
  /** Default true. */
  useMirroring?: boolean;
  saveProbabilities?: boolean;
  overwrite?: boolean;
  /** onnxruntime intra-op threads. */
  threads?: number;
  onProgress?: (event: { caseId: string; index: number; total: number; status: 'predicted' | 'skipped' }) => void;
}

export async function predictOnnxCases(options: PredictOnnxOptions): Promise<{ predicted: string[]; skipped: string[] }> {
  const exp = await readOnnxExport(options.exportFolder, options.folds);
  const { model } = exp;
  const ending = model.dataset.file_ending;
  const cases = await findInputCases(options.inputFolder, ending, model.network.input_channels);
  await mkdir(options.outputFolder, { recursive: true });
  const runners = await openRunners(exp, options.threads);
  let lock: FolderLock | undefined;
  try {
    lock = await acquireFolderLock(options.outputFolder, { command: 'nnunet predict --backend onnx' });
    // as the libtorch backend: the output folder describes itself (nnunet ensemble reads its dataset.json)
    await writeFileAtomic(path.join(options.outputFolder, 'dataset.json'), new TextEncoder().encode(JSON.stringify(model.dataset, null, 2)));
    const predicted: string[] = [];
    const skipped: string[] = [];
    for (const [index, c] of cases.entries()) {
      const base = path.join(options.outputFolder, c.id);
      const outputs = [base + ending, ...(options.saveProbabilities ? [`${base}.npz`] : [])];
      const report = (status: 'predicted' | 'skipped') => options.onProgress?.({ caseId: c.id, index, total: cases.length, status });
      if (!options.overwrite && (await Promise.all(outputs.map(exists))).every(Boolean)) {
        skipped.push(c.id);
        report('skipped');
        continue;
      }
      const bytes = await Promise.all(c.files.map((f) => readFile(f)));
      const result = await segmentCase(runners, model, bytes, {
        tta: options.useMirroring ?? true,
        stepSize: options.stepSize ?? 0.5,
        saveProbabilities: options.saveProbabilities,
        gzip: ending.endsWith('.gz'),
        names: c.files,
      });
      await writeFileAtomic(base + ending, result.nifti);
      if (result.probabilities) {
        await writeNpz(`${base}.npz`, { probabilities: { data: result.probabilities, shape: [model.network.num_classes, ...result.shape], dtype: 'float32' } });
        await writeFileAtomic(`${base}.json`, new TextEncoder().encode(propertiesJson(result.properties)));
      }
      predicted.push(c.id);
      report('predicted');
    }
    return { predicted, skipped };
  } finally {
    lock?.release();
    await Promise.all(runners.map((r) => r.release()));
  }
}

// nnU-Net's perform_actual_validation: predict a fold's validation cases from the preprocessed data with the fold's
// checkpoint, export them to fold_X/validation/ in the original geometry, and evaluate against gt_segmentations/.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { foldCases, loadOrCreateSplits, type Fold } from '../data/splits.js';
import { evaluateFolder, evaluationLabelsFrom } from '../evaluation/evaluate-folder.js';
import type { Summary } from '../evaluation/summary.js';
import { CHECKPOINT_FILES, DEFAULT_TRAINER, modelFolder } from '../model/model-folder.js';
import { listPreprocessedCases, readPreprocessedCase } from '../preprocessing/preprocessed-store.js';
import { type Device, tensor, tidy } from '../torch/index.js';
import { maybeKillAt } from '../fault-injection.js';
import { type FolderLock, acquireFolderLock } from '../io/folder-lock.js';
import { BackgroundExporter } from './background-export.js';
import { loadModel } from './load-model.js';
import { exportLabels, predictLogits } from './predictor.js';

export interface ValidateFoldOptions {
  preprocessedDatasetDir: string;
  resultsDatasetDir: string;
  configuration: string;
  fold: Fold;
  /** `-tr`; default nnUNetTrainer */
  trainer?: string;
  plansName: string;
  /** default checkpoint_final.pth */
  checkpointName?: string;
  saveProbabilities: boolean;
  device: Device;
  echo?: (line: string) => void;
}

export async function validateFold(options: ValidateFoldOptions): Promise<Summary> {
  const modelDir = modelFolder(options.resultsDatasetDir, { trainer: options.trainer ?? DEFAULT_TRAINER, plans: options.plansName, configuration: options.configuration });
  const foldDir = path.join(modelDir, `fold_${options.fold}`);
  const outDir = path.join(foldDir, 'validation');
  const model = await loadModel(modelDir, { folds: [options.fold], checkpointName: options.checkpointName ?? CHECKPOINT_FILES.final, device: options.device });
  let lock: FolderLock;
  try {
    lock = await acquireFolderLock(foldDir, { command: 'nnunet train (final validation)' });
  } catch (err) {
    model.dispose();
    throw err;
  }
  const exporter = new BackgroundExporter(true);
  try {
    const dataDir = path.join(options.preprocessedDatasetDir, model.configuration.data_identifier);
    const identifiers = await listPreprocessedCases(dataDir);
    const { val } = foldCases(await loadOrCreateSplits(options.preprocessedDatasetDir, identifiers), options.fold, identifiers);
    await mkdir(outDir, { recursive: true });
    for (const [i, id] of val.entries()) {
      const c = await readPreprocessedCase(dataDir, id);
      const logits = tidy(() => predictLogits(model, tensor(c.data, c.shape)));
      const job = {
        logits: logits.toTypedArray() as Float32Array,
        shape: logits.shape,
        properties: c.properties,
        plans: model.plans,
        configuration: model.configuration,
        labels: exportLabels(model),
        outputBase: path.join(outDir, id),
        options: { fileEnding: model.datasetJson.file_ending, saveProbabilities: options.saveProbabilities },
      };
      logits.dispose();
      await exporter.submit(job);
      maybeKillAt('final-validation');
      options.echo?.(`validation ${i + 1}/${val.length}: ${id}`);
    }
    await exporter.drain();
    return await evaluateFolder(path.join(options.preprocessedDatasetDir, 'gt_segmentations'), outDir, {
      ...evaluationLabelsFrom(model.labels),
      fileEnding: model.datasetJson.file_ending,
      chill: true,
    });
  } finally {
    await exporter.close().catch(() => undefined);
    model.dispose();
    lock.release();
  }
}

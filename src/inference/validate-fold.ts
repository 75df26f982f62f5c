// nnU-Net's perform_actual_validation: predict a fold's validation cases from the preprocessed data with the fold's
// checkpoint, export them to fold_X/validation/ in the original geometry, and evaluate against gt_segmentations/.
// A stage with a next stage (3d_lowres) also writes predicted_next_stage/ (cascade.ts).
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
import { stageLinks } from './cascade.js';
import { loadModel } from './load-model.js';
import { exportLabels, predictLogits } from './predictor.js';
import { SingleProcessStrategy, type Strategy } from '../training/strategy/strategy.js';

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
  /** Data-parallel run: each rank predicts every world-size-th case, rank 0 evaluates and writes summary.json. */
  strategy?: Strategy;
  /** CUDA only: autocast (default on) and cuDNN's deterministic mode, as the training run used. */
  amp?: boolean;
  deterministic?: boolean;
}

export async function validateFold(options: ValidateFoldOptions): Promise<Summary> {
  const modelDir = modelFolder(options.resultsDatasetDir, { trainer: options.trainer ?? DEFAULT_TRAINER, plans: options.plansName, configuration: options.configuration });
  const foldDir = path.join(modelDir, `fold_${options.fold}`);
  const outDir = path.join(foldDir, 'validation');
  const model = await loadModel(modelDir, { folds: [options.fold], checkpointName: options.checkpointName ?? CHECKPOINT_FILES.final, device: options.device });
  const strategy = options.strategy ?? new SingleProcessStrategy();
  let lock: FolderLock | null;
  try {
    lock = strategy.isMain ? await acquireFolderLock(foldDir, { command: 'nnunet train (final validation)' }) : null;
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
    // the cascade: previous-stage input channels, predicted_next_stage/ outputs
    const stages = await stageLinks(model, options.preprocessedDatasetDir, options.echo);
    const mine = val.filter((_, i) => i % strategy.worldSize === strategy.rank);
    for (const [i, id] of mine.entries()) {
      const c = await readPreprocessedCase(dataDir, id);
      const input = await stages.input(id, c);
      const logits = tidy(() => predictLogits(model, tensor(input.data, input.shape), { amp: options.amp, deterministic: options.deterministic }));
      await stages.writeNextStages(id, logits);
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
      options.echo?.(`validation ${i + 1}/${mine.length}${strategy.worldSize > 1 ? ` (rank ${strategy.rank})` : ''}: ${id}`);
    }
    await exporter.drain();
    // every shard is on disk before rank 0 evaluates the folder; the others take its summary
    strategy.barrier();
    if (!strategy.isMain) {
      const summary = strategy.broadcast<Summary | null>(null);
      if (!summary) throw new Error('rank 0 sent no validation summary');
      return summary;
    }
    return strategy.broadcast(await evaluateFolder(path.join(options.preprocessedDatasetDir, 'gt_segmentations'), outDir, {
      ...evaluationLabelsFrom(model.labels),
      fileEnding: model.datasetJson.file_ending,
      chill: true,
    }));
  } finally {
    await exporter.close().catch(() => undefined);
    model.dispose();
    lock?.release();
  }
}

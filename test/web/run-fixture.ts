// A results folder with trainings written the way the trainer writes them: training_log lines through the
// trainer's TrainingLog with the loop's messages (loop.ts), the fold lock through folder-lock, checkpoints as .pth.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writePthRecords } from '../../src/torch/serialization/pth-records-io.js';
import { pyFloat } from '../../src/torch/serialization/py-values.js';
import { TrainingLog } from '../../src/training/training-log.js';
import { MODEL_JSON_FORMAT_VERSION, type ModelJson } from '../../src/portable/model-json.js';

export interface EpochValues {
  lr: number;
  trainLoss: number;
  valLoss: number;
  dice: number[];
  seconds: number;
}

export function tempResults(): string {
  return mkdtempSync(path.join(tmpdir(), 'nnunet-serve-'));
}

export function foldDir(results: string, dataset = 'Dataset999_Toy', model = 'nnUNetTrainer__nnUNetPlans__3d_fullres', fold = 'fold_0'): string {
  const dir = path.join(results, dataset, model, fold);
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function trainingLog(folder: string): TrainingLog {
  return new TrainingLog(folder, () => {});
}

/** The lines runLoop prints for one epoch (and the best-checkpoint callback's line). */
export function logEpoch(log: TrainingLog, epoch: number, v: EpochValues, newBest?: number): void {
  log.print(`Epoch ${epoch}`);
  log.print(`Current learning rate: ${v.lr.toFixed(5)}`);
  log.print(`train_loss ${v.trainLoss.toFixed(4)}`);
  log.print(`val_loss ${v.valLoss.toFixed(4)}`);
  log.print(`Pseudo dice [${v.dice.map((d) => d.toFixed(4)).join(', ')}]`);
  log.print(`Epoch time: ${v.seconds.toFixed(2)} s`);
  if (newBest !== undefined) log.print(`Yayy! New best EMA pseudo Dice: ${newBest.toFixed(4)}`);
}

/** A checkpoint with the fields the runs page reads (no weights: it never loads them). */
export async function writeCheckpoint(file: string, currentEpoch: number, bestEma: number | null, earlyStopping?: Record<string, number | boolean | string | null>): Promise<void> {
  await writePthRecords(file, {
    current_epoch: currentEpoch,
    _best_ema: bestEma === null ? null : pyFloat(bestEma),
    nnunet_ts: { callbacks: earlyStopping ? { early_stopping: Object.fromEntries(Object.entries(earlyStopping).map(([k, v]) => [k, typeof v === 'number' && !Number.isInteger(v) ? pyFloat(v) : v])) } : {} },
  });
}

export function writeFileIn(dir: string, name: string, content: string | Uint8Array): string {
  const file = path.join(dir, name);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
  return file;
}

/** A model.json that passes the exporter's schema (src/portable/model-json.ts); the API tests never run it. */
export function toyModelJson(fold: number | 'all'): string {
  const kwargs = { is_seg: false, order: 3, order_z: 0, force_separate_z: null };
  const model: ModelJson = {
    format_version: MODEL_JSON_FORMAT_VERSION,
    exporter: { name: 'nnunet-ts', version: '0.0.0-test' },
    dataset_name: 'Dataset999_Toy',
    plans_name: 'nnUNetPlans',
    trainer: 'nnUNetTrainer',
    configuration_name: '3d_fullres',
    fold,
    checkpoint: 'checkpoint_final.pth',
    network: { class_name: 'PlainConvUNet', onnx_file: 'model.onnx', opset: 17, input_name: 'input', output_name: 'logits', input_channels: 1, num_classes: 2, total_stride: [4, 4, 4] },
    dataset: { labels: { background: 0, foreground: 1 }, channel_names: { '0': 'MRI' }, file_ending: '.nii.gz' },
    transpose_forward: [0, 1, 2],
    transpose_backward: [0, 1, 2],
    configuration: { patch_size: [8, 8, 8], spacing: [1, 1, 1], normalization_schemes: ['ZScoreNormalization'], use_mask_for_norm: [false], resampling_fn_data_kwargs: kwargs, resampling_fn_seg_kwargs: { ...kwargs, is_seg: true, order: 1 }, resampling_fn_probabilities_kwargs: { ...kwargs, order: 1 } },
    foreground_intensity_properties_per_channel: { '0': { mean: 0, std: 1, percentile_00_5: -3, percentile_99_5: 3 } },
    mirror_axes: [0, 1, 2],
  };
  return JSON.stringify(model);
}

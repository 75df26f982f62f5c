// Training end to end on a tiny generated dataset: quality, early stopping, schedule refusal, pretrained weights.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import { validateFold } from '../../../src/inference/validate-fold.js';
import { readCheckpoint } from '../../../src/model/checkpoint.js';
import { foldFolder } from '../../../src/model/model-folder.js';
import { dispose } from '../../../src/torch/index.js';
import { TrainerEvents } from '../../../src/training/events.js';
import { train } from '../../../src/training/trainer.js';
import { type TinyDataset, tinyDataset } from './fixture.js';

const PLAIN = { trainer: 'nnUNetTrainer', plans: 'nnUNetPlans', configuration: '3d_fullres' };

let data: TinyDataset;
before(async () => {
  data = await tinyDataset();
});

const quiet = () => undefined;
function logText(folder: string): string {
  return readdirSync(folder)
    .filter((f) => f.startsWith('training_log_'))
    .map((f) => readFileSync(path.join(folder, f), 'utf8'))
    .join('\n');
}

test('training reaches a validation Dice above 0.9 and writes nnU-Net outputs', async () => {
  const results = path.join(data.root, 'quality');
  const events = new TrainerEvents();
  const written: { kind: string; inode: number }[] = [];
  events.on('checkpoint', (e) => written.push({ kind: e.kind, inode: statSync(e.file).ino }));
  const r = await train({ preprocessedDatasetDir: data.preprocessedDatasetDir, resultsDatasetDir: results, configuration: '3d_fullres', fold: 0, numEpochs: 15, iterationsPerEpoch: 10, valIterations: 3, echo: quiet, events });
  assert.equal(r.epochs, 15);
  const fold = foldFolder(results, PLAIN, 0);
  // each epoch end writes checkpoint_latest anew; checkpoint_best and checkpoint_final of the same state are links to it
  const latest = written.filter((w) => w.kind === 'latest').map((w) => w.inode);
  assert.equal(latest.length, 15);
  assert.equal(new Set(latest).size, 15, 'a new checkpoint_latest file per epoch');
  written.forEach((w, i) => {
    if (w.kind !== 'latest') assert.equal(w.inode, written[i - 1].inode, `checkpoint_${w.kind} (event ${i}) is the file checkpoint_latest just was`);
  });
  assert.deepEqual(written.at(-1), { kind: 'final', inode: latest.at(-1) });
  const best = await readCheckpoint(path.join(fold, 'checkpoint_best.pth'));
  assert.equal(best.current_epoch, (r.bestEpoch ?? -1) + 1, 'checkpoint_best holds the best epoch, not a later one');
  dispose(best);
  for (const f of ['checkpoint_final.pth', 'checkpoint_best.pth', 'progress.png']) assert.ok(existsSync(path.join(fold, f)), f);
  assert.ok(!existsSync(path.join(fold, 'checkpoint_latest.pth')), 'latest is removed at the end, as nnU-Net does');
  for (const f of ['plans.json', 'dataset.json', 'dataset_fingerprint.json']) assert.ok(existsSync(path.join(path.dirname(fold), f)), f);
  const summary = await validateFold({ preprocessedDatasetDir: data.preprocessedDatasetDir, resultsDatasetDir: results, configuration: '3d_fullres', fold: 0, plansName: 'nnUNetPlans', checkpointName: 'checkpoint_final.pth', saveProbabilities: false, device: 'cpu' });
  assert.ok(existsSync(path.join(fold, 'validation', 'summary.json')));
  assert.ok(summary.foreground_mean.Dice > 0.9, `foreground Dice ${summary.foreground_mean.Dice}`);
});

test('early stopping ends the run before --num-epochs with checkpoint_final and the log line', async () => {
  const results = path.join(data.root, 'early');
  const r = await train({
    preprocessedDatasetDir: data.preprocessedDatasetDir,
    resultsDatasetDir: results,
    configuration: '3d_fullres',
    fold: 0,
    numEpochs: 30,
    iterationsPerEpoch: 3,
    valIterations: 2,
    earlyStopping: { patience: 2, minDelta: 0.05 },
    echo: quiet,
  });
  assert.ok(r.stoppedEarly);
  assert.ok(r.epochs < 30, `ran ${r.epochs} epochs`);
  const fold = foldFolder(results, PLAIN, 0);
  assert.ok(existsSync(path.join(fold, 'checkpoint_final.pth')));
  const log = logText(fold);
  assert.match(log, /Early stopping at epoch \d+: best ema_fg_dice [\d.]+ reached at epoch \d+/);
  assert.match(log, /Training stopped early at epoch/);
  // a finished run resumed with --c says so and does nothing
  const again = await train({ preprocessedDatasetDir: data.preprocessedDatasetDir, resultsDatasetDir: results, configuration: '3d_fullres', fold: 0, numEpochs: 30, iterationsPerEpoch: 3, valIterations: 2, earlyStopping: { patience: 2, minDelta: 0.05 }, continueTraining: true, echo: quiet });
  assert.equal(again.epochs, r.epochs);
  assert.match(logText(fold), /already finished/);
});

test('--c refuses a changed schedule and names the setting; --allow-schedule-change overrides', async () => {
  const results = path.join(data.root, 'schedule');
  const common = { preprocessedDatasetDir: data.preprocessedDatasetDir, resultsDatasetDir: results, configuration: '3d_fullres', fold: 0 as const, iterationsPerEpoch: 2, valIterations: 1, echo: quiet };
  await train({ ...common, numEpochs: 2, saveEvery: 1 });
  await assert.rejects(train({ ...common, numEpochs: 4, continueTraining: true }), (e: Error) => e.name === 'UserError' && /num_epochs/.test(e.message) && /2/.test(e.message) && /4/.test(e.message));
  const r = await train({ ...common, numEpochs: 3, continueTraining: true, allowScheduleChange: true });
  assert.equal(r.epochs, 3);
});

test('--c without any checkpoint starts fresh with a warning', async () => {
  const results = path.join(data.root, 'fresh');
  const lines: string[] = [];
  const r = await train({ preprocessedDatasetDir: data.preprocessedDatasetDir, resultsDatasetDir: results, configuration: '3d_fullres', fold: 0, numEpochs: 1, iterationsPerEpoch: 1, valIterations: 1, continueTraining: true, echo: (l) => lines.push(l) });
  assert.equal(r.epochs, 1);
  assert.ok(lines.some((l) => /WARNING: --c given but no checkpoint/.test(l)));
});

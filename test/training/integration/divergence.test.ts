// The divergence guard, through its documented test hook NNUNET_TS_INJECT_NONFINITE: a non-finite loss skips the
// step without touching weights or optimizer state; a streak of them (across epochs) stops the CLI with exit 1.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, test } from 'node:test';
import { foldFolder } from '../../../src/model/model-folder.js';
import { type Tensor, dispose } from '../../../src/torch/index.js';
import { loadPth } from '../../../src/torch/serialization/pth-file.js';
import { loadSetup } from '../../../src/training/trainer.js';
import { nnUNetTrainer } from '../../../src/training/recipes/recipe.js';
import { trainStep } from '../../../src/training/train-step.js';
import { BatchSource } from '../../../src/data/batch-source.js';
import { augmentationFor } from '../../../src/training/augmentation-config.js';
import { listPreprocessedCases } from '../../../src/preprocessing/preprocessed-store.js';
import { type TinyDataset, tinyDataset } from './fixture.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const PLAIN = { trainer: 'nnUNetTrainer', plans: 'nnUNetPlans', configuration: '3d_fullres' };
let data: TinyDataset;
before(async () => {
  data = await tinyDataset({ numTraining: 6 });
});

test('a step with a non-finite loss leaves weights and optimizer state as they were', async () => {
  const setup = await loadSetup(data.preprocessedDatasetDir, 'nnUNetPlans', '3d_fullres', 1);
  const { network, config } = setup;
  const optimizer = nnUNetTrainer.createOptimizer(network.parameters(), nnUNetTrainer);
  const dir = path.join(data.preprocessedDatasetDir, config.data_identifier);
  const source = new BatchSource({ preprocessedDir: dir, caseIds: await listPreprocessedCases(dir), batchSize: 2, patchSize: config.patch_size, oversampleForeground: 0.33, seed: 1, stream: 'train', augmentation: augmentationFor(config) });
  const loss = { batchDice: config.batch_dice };
  network.train();
  assert.equal(trainStep(network, optimizer, await source.makeBatch(0), 3, loss, 'cpu').skipped, null);
  const snapshot = (): Buffer[] => [...network.stateDict().values(), ...[...optimizer.stateDict().state.values()].flatMap((s) => Object.values(s))].map((t) => t.toBuffer());
  const before = snapshot();
  const r = trainStep(network, optimizer, await source.makeBatch(1), 3, loss, 'cpu', { injectNonFinite: true });
  assert.equal(r.skipped, 'non-finite loss');
  assert.ok(Number.isNaN(r.loss));
  assert.deepEqual(snapshot(), before, 'weights and momentum buffers unchanged');
  assert.equal(trainStep(network, optimizer, await source.makeBatch(2), 3, loss, 'cpu').skipped, null, 'the next finite step trains');
  assert.notDeepEqual(snapshot(), before);
  source.dispose();
  optimizer.dispose();
  network.dispose();
});

function trainCli(results: string, inject: string, extra: string[] = []) {
  const args = ['--import', 'tsx', 'src/cli/main.ts', 'train', data.datasetName, '3d_fullres', '0', '--preprocessed', data.preprocessed, '--results', results,
    '--num-epochs', '3', '--iterations-per-epoch', '3', '--val-iterations', '1', '--no-progress', ...extra];
  return spawnSync(process.execPath, args, { cwd: repo, encoding: 'utf8', env: { ...process.env, NNUNET_TS_INJECT_NONFINITE: inject }, timeout: 240_000 });
}

const logOf = (fold: string) => readdirSync(fold).filter((f) => f.startsWith('training_log_')).map((f) => readFileSync(path.join(fold, f), 'utf8')).join('\n');

test('isolated non-finite steps are skipped and logged; the run finishes', async () => {
  const results = path.join(data.root, 'isolated');
  const r = trainCli(results, '1,4');
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const fold = foldFolder(path.join(results, data.datasetName), PLAIN, 0);
  const log = logOf(fold);
  assert.match(log, /skipped iteration 1: non-finite loss/);
  assert.match(log, /skipped iteration 4: non-finite loss/);
  const ckpt = (await loadPth(path.join(fold, 'checkpoint_final.pth'))) as { network_weights: Record<string, Tensor>; logging: { train_losses: number[] } };
  assert.ok(ckpt.logging.train_losses.every(Number.isFinite), `train losses ${ckpt.logging.train_losses}: the mean is over the steps that trained`);
  assert.ok(Object.values(ckpt.network_weights).every((t) => t.isfinite().all().item()), 'no NaN in the final weights');
  dispose(ckpt);
});

test('a streak of max-nonfinite-steps across an epoch boundary stops with exit 1 and no checkpoint_final', () => {
  const results = path.join(data.root, 'diverged');
  // iterations 2 (end of epoch 0), 3 and 4 (epoch 1)
  const r = trainCli(results, '2,3,4', ['--max-nonfinite-steps', '3']);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /training stopped at iteration 4 .*3 consecutive steps had a non-finite loss/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  const fold = foldFolder(path.join(results, data.datasetName), PLAIN, 0);
  assert.ok(!existsSync(path.join(fold, 'checkpoint_final.pth')), 'no checkpoint_final');
  assert.ok(existsSync(path.join(fold, 'checkpoint_latest.pth')), 'the last finite checkpoint stays');
  const log = logOf(fold);
  for (const k of [2, 3, 4]) assert.match(log, new RegExp(`skipped iteration ${k}: non-finite loss`));
});

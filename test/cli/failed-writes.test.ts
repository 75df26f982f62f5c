// A full disk (ENOSPC) or an I/O error (EIO) on any write ends the command with exit 1 and a message naming the file
// and the cause, leaves the previous files intact and no half file behind, and the rerun (train: --c) continues.
// The failures come from the NNUNET_TS_INJECT_WRITE_FAILURE test hook in the atomic writer.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, test } from 'node:test';
import { generateSyntheticDataset } from '../../src/cli/demo/synthetic-dataset.js';
import { foldFolder } from '../../src/model/model-folder.js';
import { dispose } from '../../src/torch/index.js';
import { loadPth } from '../../src/torch/serialization/pth-file.js';
import { outputOf, runCli } from './cli-process.js';

let root = '';
let name = '';
const planDirs = () => ['--raw', path.join(root, 'raw'), '--preprocessed', path.join(root, 'pre')];
const dirs = () => [...planDirs(), '--results', path.join(root, 'res')];
const tempFiles = (dir: string) => readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.tmp'));

function assertCleanFailure(r: { code: number; stdout: string; stderr: string }, file: RegExp, cause: RegExp): void {
  assert.equal(r.code, 1, outputOf(r));
  assert.match(r.stderr, file, outputOf(r));
  assert.match(r.stderr, cause, outputOf(r));
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

before(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'nnunet-writes-'));
  name = (await generateSyntheticDataset({ rawDir: path.join(root, 'raw'), numTraining: 5, numTest: 2, shape: [12, 24, 24], seed: 4 })).datasetName;
});

test('a full disk during preprocessing, training and prediction: exit 1 naming the file, nothing half-written, the rerun continues', { timeout: 300_000 }, async () => {
  const pre = await runCli(['plan-and-preprocess', '-d', name, '-c', '3d_fullres', '-np', '1', ...planDirs()], { env: { NNUNET_TS_INJECT_WRITE_FAILURE: 'ENOSPC:synth_003_seg.npy' }, timeoutMs: 120_000 });
  assertCleanFailure(pre, /synth_003_seg\.npy/, /no space left on the device \(ENOSPC\)/);
  const preDir = path.join(root, 'pre', name);
  assert.deepEqual(tempFiles(preDir), [], 'no temp file left');
  const again = await runCli(['plan-and-preprocess', '-d', name, '-c', '3d_fullres', '-np', '1', ...planDirs()], { timeoutMs: 120_000 });
  assert.equal(again.code, 0, outputOf(again));

  const trainArgs = ['train', name, '3d_fullres', '0', '--num-epochs', '3', '--iterations-per-epoch', '2', '--val-iterations', '1', '--no-progress', ...dirs()];
  const fold = foldFolder(path.join(root, 'res', name), { trainer: 'nnUNetTrainer', plans: 'nnUNetPlans', configuration: '3d_fullres' }, 0);
  const failed = await runCli(trainArgs, { env: { NNUNET_TS_INJECT_WRITE_FAILURE: 'EIO:checkpoint_latest.pth:2' }, timeoutMs: 180_000 });
  assertCleanFailure(failed, /checkpoint_latest\.pth/, /input\/output error \(EIO\)/);
  const kept = (await loadPth(path.join(fold, 'checkpoint_latest.pth'))) as { current_epoch: number };
  assert.equal(kept.current_epoch, 1, 'the previous checkpoint_latest is intact');
  dispose(kept);
  assert.deepEqual(tempFiles(fold), []);
  const resumed = await runCli([...trainArgs, '--c'], { timeoutMs: 180_000 });
  assert.equal(resumed.code, 0, outputOf(resumed));
  assert.ok(existsSync(path.join(fold, 'checkpoint_final.pth')));

  const out = path.join(root, 'predictions');
  const predictArgs = ['predict', '-i', path.join(root, 'raw', name, 'imagesTs'), '-o', out, '-d', name, '-c', '3d_fullres', '-f', '0', '--no-progress', ...dirs()];
  const p = await runCli(predictArgs, { env: { NNUNET_TS_INJECT_WRITE_FAILURE: 'ENOSPC:synth_007.nii.gz' }, timeoutMs: 120_000 });
  assertCleanFailure(p, /synth_007\.nii\.gz/, /ENOSPC/);
  assert.ok(!existsSync(path.join(out, 'synth_007.nii.gz')), 'no half-written prediction');
  assert.deepEqual(tempFiles(out), []);
  const p2 = await runCli(predictArgs, { timeoutMs: 120_000 });
  assert.equal(p2.code, 0, outputOf(p2));
  assert.ok(existsSync(path.join(out, 'synth_007.nii.gz')));
});

// `nnunet train` locks its fold folder and `nnunet plan-and-preprocess` its preprocessed dataset: while another
// process holds the lock, both are refused with exit 1 and one line naming the holder, and nothing of theirs is written.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import { foldFolder } from '../../../src/model/model-folder.js';
import { train } from '../../../src/training/trainer.js';
import { type CliResult, outputOf, runCli } from '../../cli/cli-process.js';
import { race } from '../../io/race-child.js';
import { type TinyDataset, tinyDataset } from './fixture.js';

let data: TinyDataset;
before(async () => {
  data = await tinyDataset({ numTraining: 5 });
});

/** Exit 1 and one line naming the holder, no stack trace. */
function assertRefused(r: CliResult, pid: number): void {
  assert.equal(r.code, 1, outputOf(r));
  assert.match(r.stderr, /is in use by another nnunet process \(pid \d+ on host .+, since \d{4}-\d\d-\d\dT/, outputOf(r));
  assert.ok(r.stderr.includes(`pid ${pid} `), outputOf(r));
  // progress lines aside, one message line
  assert.equal(r.stderr.split('\n').filter((l) => l.startsWith('nnunet:')).length, 1, outputOf(r));
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

test('train and plan-and-preprocess are refused while another process holds their folder', async () => {
  const results = path.join(data.root, 'locked');
  const fold = foldFolder(path.join(results, data.datasetName), { trainer: 'nnUNetTrainer', plans: 'nnUNetPlans', configuration: '3d_fullres' }, 0);
  mkdirSync(fold, { recursive: true });
  const [holder] = await race([{ kind: 'lock', folders: [fold, data.preprocessedDatasetDir] }]);
  try {
    assert.deepEqual((await holder.result as { won: boolean }[]).map((o) => o.won), [true, true]);
    const refusedTrain = await runCli(['train', data.datasetName, '3d_fullres', '0', '--preprocessed', data.preprocessed, '--results', results, '--num-epochs', '1', '--iterations-per-epoch', '1', '--val-iterations', '1', '--no-progress']);
    assertRefused(refusedTrain, holder.pid);
    assert.deepEqual(readdirSync(fold).filter((f) => !f.startsWith('.')), [], 'the refused train wrote nothing');
    const refusedPlan = await runCli(['plan-and-preprocess', '-d', data.datasetName, '-c', '3d_fullres', '-np', '1', '--clean', '--raw', data.raw, '--preprocessed', data.preprocessed]);
    assertRefused(refusedPlan, holder.pid);
    assert.doesNotMatch(refusedPlan.stderr + refusedPlan.stdout, /fingerprint: \d+\/\d+/, 'refused before reading the cases for the fingerprint');
  } finally {
    await holder.finish();
  }
  assert.ok(!existsSync(path.join(fold, '.nnunet-lock')), 'the holder released its lock on exit');
  const r = await train({ preprocessedDatasetDir: data.preprocessedDatasetDir, resultsDatasetDir: path.join(results, data.datasetName), configuration: '3d_fullres', fold: 0, numEpochs: 1, iterationsPerEpoch: 1, valIterations: 1, echo: () => undefined });
  assert.equal(r.epochs, 1);
  assert.ok(!existsSync(path.join(fold, '.nnunet-lock')), 'train released its lock');
});

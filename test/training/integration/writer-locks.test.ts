// `train` locks its fold folder and `plan-and-preprocess` its preprocessed dataset: while another process holds
// the lock, both are refused with one line naming the holder, and nothing of theirs is written.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import { foldFolder } from '../../../src/model/model-folder.js';
import { planAndPreprocess } from '../../../src/preprocessing/plan-and-preprocess.js';
import { train } from '../../../src/training/trainer.js';
import { race } from '../../io/race-child.js';
import { type TinyDataset, tinyDataset } from './fixture.js';

let data: TinyDataset;
before(async () => {
  data = await tinyDataset({ numTraining: 5 });
});

const heldBy = (pid: number) => (e: Error) => e.name === 'UserError' && /is in use by another nnunet process/.test(e.message) && e.message.includes(`pid ${pid}`);

test('train and plan-and-preprocess are refused while another process holds their folder', async () => {
  const results = path.join(data.root, 'locked');
  const fold = foldFolder(path.join(results, data.datasetName), { trainer: 'nnUNetTrainer', plans: 'nnUNetPlans', configuration: '3d_fullres' }, 0);
  mkdirSync(fold, { recursive: true });
  const [holder] = await race([{ kind: 'lock', folders: [fold, data.preprocessedDatasetDir] }]);
  try {
    assert.deepEqual((await holder.result as { won: boolean }[]).map((o) => o.won), [true, true]);
    await assert.rejects(train({ preprocessedDatasetDir: data.preprocessedDatasetDir, resultsDatasetDir: path.join(results, data.datasetName), configuration: '3d_fullres', fold: 0, numEpochs: 1, iterationsPerEpoch: 1, valIterations: 1, echo: () => undefined }), heldBy(holder.pid));
    assert.deepEqual(readdirSync(fold).filter((f) => !f.startsWith('.')), [], 'the refused train wrote nothing');
    await assert.rejects(planAndPreprocess({ datasetId: data.datasetName, dirs: { raw: data.raw, preprocessed: data.preprocessed }, configurations: ['3d_fullres'], numProcesses: 1, clean: true }), heldBy(holder.pid));
  } finally {
    await holder.finish();
  }
  assert.ok(!existsSync(path.join(fold, '.nnunet-lock')), 'the holder released its lock on exit');
  const r = await train({ preprocessedDatasetDir: data.preprocessedDatasetDir, resultsDatasetDir: path.join(results, data.datasetName), configuration: '3d_fullres', fold: 0, numEpochs: 1, iterationsPerEpoch: 1, valIterations: 1, echo: () => undefined });
  assert.equal(r.epochs, 1);
  assert.ok(!existsSync(path.join(fold, '.nnunet-lock')), 'train released its lock');
});

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { predictCases } from '../../src/inference/predictor.js';
import { validateFold } from '../../src/inference/validate-fold.js';
import { readNifti, writeNifti } from '../../src/io/nifti.js';
import { preprocessCase } from '../../src/preprocessing/preprocess-case.js';
import { writePreprocessedCase } from '../../src/preprocessing/preprocessed-store.js';
import { TINY_DATASET_JSON, tinyPlans, writeCase, writeTinyModel } from './model-fixture.js';

let root: string;
after(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

test('validateFold predicts the fold\'s validation cases from preprocessed data, exports and evaluates them', async () => {
  root = await mkdtemp(path.join(tmpdir(), 'nnunet-validate-'));
  const plans = tinyPlans();
  const raw = path.join(root, 'raw');
  const pre = path.join(root, 'preprocessed');
  const results = path.join(root, 'results');
  const modelDir = path.join(results, 'nnUNetTrainer__nnUNetPlans__3d_fullres');
  await writeTinyModel(modelDir, [0], plans);
  await rename(path.join(modelDir, 'fold_0'), path.join(modelDir, 'fold_all'));
  const ids = ['case_a', 'case_b'];
  await mkdir(path.join(pre, 'gt_segmentations'), { recursive: true });
  for (const [i, id] of ids.entries()) {
    const file = await writeCase(raw, id, [12, 20, 18], [[1, 11], [2, 19], [0, 18]], 20 + i);
    const image = await readNifti(file);
    // a label map of the input's geometry: class 1 and 2 in two slabs
    const labels = new Uint8Array(image.data.length).map((_, v) => (v % 7 === 0 ? 1 : v % 11 === 0 ? 2 : 0));
    await writeNifti(path.join(pre, 'gt_segmentations', `${id}.nii.gz`), labels, image.shape, image.header);
    const seg = await readNifti(path.join(pre, 'gt_segmentations', `${id}.nii.gz`));
    const c = preprocessCase([image], seg, plans, '3d_fullres', TINY_DATASET_JSON);
    await mkdir(path.join(pre, 'nnUNetPlans_3d_fullres'), { recursive: true });
    await writePreprocessedCase(path.join(pre, 'nnUNetPlans_3d_fullres'), id, { data: c.data, seg: c.seg as Int8Array, shape: c.shape, properties: c.properties });
  }
  await writeFile(path.join(pre, 'dataset.json'), JSON.stringify(TINY_DATASET_JSON));

  const lines: string[] = [];
  const summary = await validateFold({
    preprocessedDatasetDir: pre, resultsDatasetDir: results, configuration: '3d_fullres', fold: 'all', plansName: 'nnUNetPlans',
    checkpointName: 'checkpoint_final.pth', saveProbabilities: false, device: 'cpu', echo: (l) => lines.push(l),
  });
  assert.equal(summary.metric_per_case.length, 2);
  assert.deepEqual(lines, ['validation 1/2: case_a', 'validation 2/2: case_b']);
  assert.deepEqual(summary.metric_per_case.map((c) => path.basename(c.prediction_file)), ['case_a.nii.gz', 'case_b.nii.gz']);
  assert.ok(existsSync(path.join(modelDir, 'fold_all', 'validation', 'summary.json')));

  // the same model on the raw images gives the same label maps
  const direct = path.join(root, 'direct');
  await predictCases({ inputFolder: raw, outputFolder: direct, modelFolder: modelDir, folds: ['all'] });
  for (const id of ids) {
    const a = await readNifti(path.join(modelDir, 'fold_all', 'validation', `${id}.nii.gz`));
    const b = await readNifti(path.join(direct, `${id}.nii.gz`));
    assert.deepEqual(a.shape, b.shape);
    assert.deepEqual(Array.from(a.data), Array.from(b.data), `${id}: validation export equals raw prediction`);
  }
});

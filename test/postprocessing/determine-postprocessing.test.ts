// determine_postprocessing's rule on hand-made cross-validations: the foreground step is kept only when it raises the
// foreground mean and lowers no class, a per-label step only when it raises that label's Dice.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parsePythonJson } from '../../src/evaluation/python-json.js';
import { createHeader, readNifti, writeNifti } from '../../src/io/nifti.js';
import type { DatasetJson } from '../../src/planning/dataset-json.js';
import { determinePostprocessing } from '../../src/postprocessing/determine-postprocessing.js';
import { readPostprocessingPkl } from '../../src/postprocessing/postprocessing-pkl.js';

const DATASET_JSON: DatasetJson = { channel_names: { '0': 'CT' }, labels: { background: 0, a: 1, b: 2 }, numTraining: 1, file_ending: '.nii.gz' };
const SHAPE = [1, 1, 12];
const IDENTITY = [
  [1, 0, 0, 0],
  [0, 1, 0, 0],
  [0, 0, 1, 0],
  [0, 0, 0, 1],
];
const header = createHeader({ shape: SHAPE, affine: IDENTITY, dtype: 'uint8' });

async function folders(reference: number[], prediction: number[]): Promise<{ ref: string; pred: string }> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'nnunet-pp-'));
  const ref = path.join(root, 'ref');
  const pred = path.join(root, 'pred');
  await mkdir(ref);
  await mkdir(pred);
  await writeNifti(path.join(ref, 'case_0.nii.gz'), Uint8Array.from(reference), SHAPE, header);
  await writeNifti(path.join(pred, 'case_0.nii.gz'), Uint8Array.from(prediction), SHAPE, header);
  return { ref, pred };
}

const quiet = () => undefined;

test('the foreground step is refused when it lowers a class, and the per-label step for that label is kept', async () => {
  // keeping only the largest foreground blob (0-2) would delete label 2 entirely; only the stray 1 at 9 should go
  const { ref, pred } = await folders([1, 1, 1, 0, 0, 2, 2, 0, 0, 0, 0, 0], [1, 1, 1, 0, 0, 2, 2, 0, 0, 1, 0, 0]);
  const r = await determinePostprocessing(pred, ref, { datasetJson: DATASET_JSON, echo: quiet });
  assert.deepEqual(r.steps, [{ fn: 'remove_all_but_largest_component_from_segmentation', kwargs: { labels_or_regions: 1 } }]);
  assert.equal(r.after.mean['1'].Dice, 1);
  assert.deepEqual(await readPostprocessingPkl(path.join(pred, 'postprocessing.pkl')), r.steps);
  assert.deepEqual(Array.from((await readNifti(path.join(pred, 'postprocessed', 'case_0.nii.gz'))).data), [1, 1, 1, 0, 0, 2, 2, 0, 0, 0, 0, 0]);
  assert.ok(!existsSync(path.join(pred, 'postprocessed', 'temp')), 'temp is removed');
  const json = parsePythonJson(readFileSync(path.join(pred, 'postprocessing.json'), 'utf8'));
  assert.deepEqual(json, {
    input_folder: { foreground_mean: r.before.foreground_mean, mean: r.before.mean },
    postprocessed: { foreground_mean: r.after.foreground_mean, mean: r.after.mean },
    postprocessing_fns: ['remove_all_but_largest_component_from_segmentation'],
    postprocessing_kwargs: [{ labels_or_regions: 1 }],
  });
});

test('the foreground step is kept when it helps every class; then no per-label step changes anything', async () => {
  const { ref, pred } = await folders([1, 1, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0], [1, 1, 1, 2, 0, 0, 0, 0, 0, 1, 0, 2]);
  const r = await determinePostprocessing(pred, ref, { datasetJson: DATASET_JSON, echo: quiet });
  assert.deepEqual(r.steps, [{ fn: 'remove_all_but_largest_component_from_segmentation', kwargs: { labels_or_regions: [1, 2] } }]);
  assert.equal(r.after.foreground_mean.Dice, 1);
  assert.ok(r.before.foreground_mean.Dice < 1);
});

test('nothing helps: an empty postprocessing, and postprocessed/ holds the input', async () => {
  const { ref, pred } = await folders([1, 1, 0, 0, 2, 2, 0, 0, 0, 0, 0, 0], [1, 0, 0, 0, 2, 2, 0, 0, 0, 0, 0, 0]);
  const r = await determinePostprocessing(pred, ref, { datasetJson: DATASET_JSON, echo: quiet });
  assert.deepEqual(r.steps, []);
  assert.deepEqual(r.after, r.before);
  assert.deepEqual(await readPostprocessingPkl(path.join(pred, 'postprocessing.pkl')), []);
});

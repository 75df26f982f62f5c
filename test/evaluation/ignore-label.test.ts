// Evaluation of a dataset with an ignore label, driven by its label manager: summary.json scores the foreground labels
// only (no "0", no ignore key) and leaves every voxel whose reference is the ignore label out of all counts.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { evaluateFolder, evaluationLabelsFrom } from '../../src/evaluation/evaluate-folder.js';
import { readSummaryJson } from '../../src/evaluation/summary.js';
import { createHeader, writeNifti } from '../../src/io/nifti.js';
import { labelManagerFrom } from '../../src/planning/labels.js';

const SHAPE = [2, 2, 3];
const AFFINE = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]];
const root = await mkdtemp(join(tmpdir(), 'eval-ignore-'));
after(() => rm(root, { recursive: true, force: true }));

async function write(file: string, values: number[]): Promise<void> {
  await writeNifti(file, Uint8Array.from(values), SHAPE, createHeader({ shape: SHAPE, affine: AFFINE, dtype: 'uint8' }), { dtype: 'uint8' });
}

test('summary.json of an ignore-label dataset: foreground keys only, ignored voxels in no count', async () => {
  const refDir = join(root, 'ref');
  const predDir = join(root, 'pred');
  await mkdir(refDir);
  await mkdir(predDir);
  // a: voxels 4-6 ignored (their wrong predictions do not count); b: voxels 0-5 ignored, label 2 predicted only there
  await write(join(refDir, 'a.nii.gz'), [0, 1, 1, 2, 3, 3, 3, 0, 1, 2, 2, 0]);
  await write(join(predDir, 'a.nii.gz'), [0, 1, 2, 2, 1, 2, 0, 0, 1, 2, 1, 0]);
  await write(join(refDir, 'b.nii.gz'), [3, 3, 3, 3, 3, 3, 0, 0, 0, 1, 1, 1]);
  await write(join(predDir, 'b.nii.gz'), [2, 2, 2, 2, 2, 2, 0, 0, 0, 1, 1, 0]);

  const lm = labelManagerFrom({ labels: { background: 0, a: 1, b: 2, ignore: 3 } });
  const summary = await evaluateFolder(refDir, predDir, { ...evaluationLabelsFrom(lm), fileEnding: '.nii.gz' });
  const written = await readSummaryJson(join(predDir, 'summary.json'));
  assert.deepEqual(written, summary);
  assert.deepEqual(Object.keys(summary.mean), ['1', '2']);

  const [a, b] = summary.metric_per_case;
  assert.deepEqual(a.metrics['1'], { Dice: 2 / 3, FN: 1, FP: 1, IoU: 0.5, TN: 5, TP: 2, n_pred: 3, n_ref: 3 });
  assert.deepEqual(a.metrics['2'], { Dice: 2 / 3, FN: 1, FP: 1, IoU: 0.5, TN: 5, TP: 2, n_pred: 3, n_ref: 3 });
  assert.deepEqual(b.metrics['1'], { Dice: 0.8, FN: 1, FP: 0, IoU: 2 / 3, TN: 3, TP: 2, n_pred: 2, n_ref: 3 });
  // label 2 exists in b only where the reference is ignored: empty in both, so NaN (and skipped by the nanmean)
  assert.ok(Number.isNaN(b.metrics['2'].Dice));
  assert.deepEqual({ ...b.metrics['2'], Dice: 0, IoU: 0 }, { Dice: 0, FN: 0, FP: 0, IoU: 0, TN: 6, TP: 0, n_pred: 0, n_ref: 0 });
  assert.ok(Math.abs(summary.mean['1'].Dice - (2 / 3 + 0.8) / 2) < 1e-12);
  assert.ok(Math.abs(summary.mean['2'].Dice - 2 / 3) < 1e-12);
  assert.ok(Math.abs(summary.foreground_mean.Dice - ((2 / 3 + 0.8) / 2 + 2 / 3) / 2) < 1e-12);
  // the file is Python's json: NaN as a bare token
  assert.match(await readFile(join(predDir, 'summary.json'), 'utf8'), /"Dice": NaN/);
});

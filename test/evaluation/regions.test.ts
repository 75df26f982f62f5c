// Evaluation of a region-based dataset: summary.json scores each region (upstream's keys "(1, 2, 3)", ...) and agrees
// with an independent per-voxel count of each region's masks, with the ignore label's voxels left out; the dataset.json
// driven evaluation (nnunet evaluate) scores the regions too.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { evaluateWithDatasetJson } from '../../src/cli/evaluate-dataset.js';
import { evaluateFolder, evaluationLabelsFrom } from '../../src/evaluation/evaluate-folder.js';
import { readSummaryJson } from '../../src/evaluation/summary.js';
import { createHeader, writeNifti } from '../../src/io/nifti.js';
import { labelManagerFrom, regionMembers } from '../../src/planning/labels.js';

const SHAPE = [6, 7, 8];
const N = SHAPE.reduce((a, b) => a * b, 1);
const AFFINE = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]];
const LABELS = { background: 0, 'whole tumor': [1, 2, 3], 'tumor core': [2, 3], 'enhancing tumor': [3], ignore: 4 };
const ORDER = [1, 2, 3];
const root = await mkdtemp(join(tmpdir(), 'eval-regions-'));
after(() => rm(root, { recursive: true, force: true }));

/** A deterministic pseudo-random label map over 0..max (mulberry32). */
function randomLabels(seed: number, max: number): Uint8Array {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Uint8Array.from({ length: N }, () => Math.floor(next() * (max + 1)));
}

async function write(file: string, values: Uint8Array): Promise<void> {
  await writeNifti(file, values, SHAPE, createHeader({ shape: SHAPE, affine: AFFINE, dtype: 'uint8' }), { dtype: 'uint8' });
}

/** Dice of one region, voxel by voxel from the two masks, the reference's ignored voxels skipped. */
function regionDice(ref: Uint8Array, pred: Uint8Array, region: readonly number[], ignore: number): number {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < ref.length; i++) {
    if (ref[i] === ignore) continue;
    const r = region.includes(ref[i]);
    const p = region.includes(pred[i]);
    if (r && p) tp++;
    else if (p) fp++;
    else if (r) fn++;
  }
  return tp + fp + fn === 0 ? NaN : (2 * tp) / (2 * tp + fp + fn);
}

test('summary.json per region with upstream keys, agreeing with an independent count', async () => {
  const refDir = join(root, 'ref');
  const predDir = join(root, 'pred');
  await mkdir(refDir);
  await mkdir(predDir);
  const cases = [1, 2, 3].map((k) => ({ id: `case${k}`, ref: randomLabels(k, 4), pred: randomLabels(100 + k, 3) }));
  for (const c of cases) {
    await write(join(refDir, `${c.id}.nii.gz`), c.ref);
    await write(join(predDir, `${c.id}.nii.gz`), c.pred);
  }
  const lm = labelManagerFrom({ labels: LABELS, regions_class_order: ORDER });
  const summary = await evaluateFolder(refDir, predDir, { ...evaluationLabelsFrom(lm), fileEnding: '.nii.gz' });
  const keys = ['(1, 2, 3)', '(2, 3)', '(3,)'];
  assert.deepEqual(Object.keys(summary.mean), keys);
  assert.deepEqual(await readSummaryJson(join(predDir, 'summary.json')), summary);
  const regions = lm.evaluationClasses.map(regionMembers);
  cases.forEach((c, i) => {
    regions.forEach((r, k) => {
      const expected = regionDice(c.ref, c.pred, r, 4);
      assert.ok(Math.abs(summary.metric_per_case[i].metrics[keys[k]].Dice - expected) < 1e-12, `${c.id} ${keys[k]}`);
    });
  });
  const meanOf = (k: number) => cases.reduce((acc, c) => acc + regionDice(c.ref, c.pred, regions[k], 4), 0) / cases.length;
  keys.forEach((key, k) => assert.ok(Math.abs(summary.mean[key].Dice - meanOf(k)) < 1e-12, key));
  assert.ok(Math.abs(summary.foreground_mean.Dice - (meanOf(0) + meanOf(1) + meanOf(2)) / 3) < 1e-12);

  // the dataset.json route (nnunet evaluate -djfile) takes the regions and the ignore label from dataset.json
  const djfile = join(root, 'dataset.json');
  await writeFile(djfile, JSON.stringify({ channel_names: { 0: 'T1' }, labels: LABELS, regions_class_order: ORDER, numTraining: 3, file_ending: '.nii.gz' }));
  const { summary: viaJson } = await evaluateWithDatasetJson(refDir, predDir, djfile, { outputFile: null });
  assert.deepEqual(viaJson.mean, summary.mean);
});

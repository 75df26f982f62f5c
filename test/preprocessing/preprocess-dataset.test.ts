// plan-and-preprocess on 10 real Dataset004_Hippocampus cases (files, shapes, class locations, skip on rerun,
// redo on changed settings) and on broken datasets (nothing written under nnUNet_preprocessed).
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { UserError } from '../../src/errors.js';
import { readNifti } from '../../src/io/nifti.js';
import { loadDatasetJson } from '../../src/planning/dataset-json.js';
import { extractFingerprint, writeFingerprint } from '../../src/planning/fingerprint.js';
import { listTrainingCases } from '../../src/planning/raw-dataset.js';
import { planAndPreprocess } from '../../src/preprocessing/plan-and-preprocess.js';
import { listPreprocessedCases, readPreprocessedCase } from '../../src/preprocessing/preprocessed-store.js';
import { linkOrCopy } from '../link-or-copy.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SOURCE = path.resolve(repoRoot, '../shared/data/Dataset004_Hippocampus');
const NAME = 'Dataset004_Hippocampus';
const noData = existsSync(SOURCE) ? null : `${SOURCE} not found`;

let tmp: string;
let dirs: { raw: string; preprocessed: string };
let ids: string[];

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'pp-dataset-'));
  dirs = { raw: path.join(tmp, 'raw'), preprocessed: path.join(tmp, 'pre') };
  if (noData) return;
  const raw = path.join(dirs.raw, NAME);
  await mkdir(path.join(raw, 'imagesTr'), { recursive: true });
  await mkdir(path.join(raw, 'labelsTr'), { recursive: true });
  ids = (await readdir(path.join(SOURCE, 'labelsTr'))).filter((f) => f.endsWith('.nii.gz')).sort().slice(0, 10).map((f) => f.slice(0, -7));
  for (const id of ids) {
    await linkOrCopy(path.join(SOURCE, 'imagesTr', `${id}_0000.nii.gz`), path.join(raw, 'imagesTr', `${id}_0000.nii.gz`));
    await linkOrCopy(path.join(SOURCE, 'labelsTr', `${id}.nii.gz`), path.join(raw, 'labelsTr', `${id}.nii.gz`));
  }
  const json = JSON.parse(await readFile(path.join(SOURCE, 'dataset.json'), 'utf8'));
  await writeFile(path.join(raw, 'dataset.json'), JSON.stringify({ ...json, numTraining: ids.length }));
  // A small intensity sample budget keeps the test fast; planAndPreprocess then reuses this fingerprint.
  const cases = await listTrainingCases(raw, await loadDatasetJson(path.join(raw, 'dataset.json')));
  await mkdir(path.join(dirs.preprocessed, NAME), { recursive: true });
  await writeFingerprint(path.join(dirs.preprocessed, NAME, 'dataset_fingerprint.json'), await extractFingerprint(cases, { foregroundSampleBudget: 1e5 }));
});
after(() => rm(tmp, { recursive: true, force: true }));

test('10 Dataset004 cases: expected files, [1, z, y, x] arrays, class locations inside, rerun skips, changed settings redo', async (t) => {
  if (noData) return t.skip(noData);
  const reports: number[] = [];
  const first = await planAndPreprocess({
    datasetId: 4,
    dirs,
    numProcesses: 2,
    verifyIntegrity: true,
    onPreprocessProgress: (p) => reports.push(p.done),
  });
  const out = path.join(dirs.preprocessed, NAME);
  assert.deepEqual(Object.keys(first.plans.configurations).sort(), ['2d', '3d_fullres']);
  assert.deepEqual(first.preprocessed.map((r) => [r.configuration, r.processed.length, r.skipped.length]), [['2d', 10, 0], ['3d_fullres', 10, 0]]);
  assert.equal(reports.at(-1), 10);
  assert.deepEqual((await readdir(path.join(out, 'gt_segmentations'))).sort(), ids.map((id) => `${id}.nii.gz`));
  assert.ok(existsSync(path.join(out, 'dataset.json')) && existsSync(path.join(out, 'nnUNetPlans.json')));

  for (const r of first.preprocessed) {
    assert.deepEqual(await listPreprocessedCases(r.outputDir), ids);
    assert.deepEqual((await readdir(r.outputDir)).length, 30);
    for (const id of ids.slice(0, 4)) {
      const c = await readPreprocessedCase(r.outputDir, id);
      const raw = await readNifti(path.join(dirs.raw, NAME, 'labelsTr', `${id}.nii.gz`));
      const [, z, y, x] = c.shape;
      assert.equal(c.shape.length, 4);
      assert.equal(c.shape[0], 1);
      assert.equal(c.data.length, z * y * x);
      assert.ok(c.seg instanceof Int8Array && c.seg.length === z * y * x);
      // Hippocampus is 1 mm isotropic: no resampling, so the stored shape is the cropped shape.
      assert.deepEqual(c.properties.shape_before_cropping, raw.shape);
      assert.deepEqual([z, y, x], c.properties.shape_after_cropping_and_before_resampling);
      assert.ok(Number.isFinite(c.data.reduce((a, b) => a + b, 0)));
      assert.deepEqual(Object.keys(c.properties.class_locations).sort(), ['1', '2']);
      for (const [label, locs] of Object.entries(c.properties.class_locations)) {
        let n = 0;
        for (const v of c.seg) if (v === Number(label)) n++;
        assert.equal(locs.length, Math.max(Math.min(10000, n), Math.ceil(n / 100)));
        for (const [a, b, d] of locs) {
          assert.ok(a >= 0 && a < z && b >= 0 && b < y && d >= 0 && d < x);
          assert.equal(c.seg[(a * y + b) * x + d], Number(label));
        }
      }
    }
  }

  const fullres = first.preprocessed[1].outputDir;
  const mtime = (await stat(path.join(fullres, `${ids[0]}.npy`))).mtimeMs;
  const second = await planAndPreprocess({ datasetId: 4, dirs, numProcesses: 2 });
  assert.deepEqual(second.preprocessed.map((r) => [r.processed.length, r.skipped.length]), [[0, 10], [0, 10]]);
  assert.equal((await stat(path.join(fullres, `${ids[0]}.npy`))).mtimeMs, mtime);

  // A case made with other settings (its stored hash differs) is redone; the others are kept.
  const jsonFile = path.join(fullres, `${ids[3]}.json`);
  const props = JSON.parse(await readFile(jsonFile, 'utf8'));
  await writeFile(jsonFile, JSON.stringify({ ...props, preprocessing_hash: 'stale' }));
  const third = await planAndPreprocess({ datasetId: 4, dirs, numProcesses: 2, configurations: ['3d_fullres'] });
  assert.deepEqual(third.preprocessed.map((r) => [r.configuration, r.processed]), [['3d_fullres', [ids[3]]]]);
});

test('a broken dataset writes nothing under nnUNet_preprocessed and names every problem', async () => {
  const raw = path.join(tmp, 'broken-raw');
  const pre = path.join(tmp, 'broken-pre');
  const ds = path.join(raw, 'Dataset005_Broken');
  await mkdir(path.join(ds, 'imagesTr'), { recursive: true });
  await mkdir(path.join(ds, 'labelsTr'), { recursive: true });
  await writeFile(path.join(ds, 'dataset.json'), JSON.stringify({ channel_names: { '0': 'MR' }, labels: { background: 0, a: 1 }, numTraining: 2, file_ending: '.nii.gz' }));
  // case a: image but no label; case b: a label that is not NIfTI at all.
  await writeFile(path.join(ds, 'imagesTr', 'a_0000.nii.gz'), 'not a nifti');
  await writeFile(path.join(ds, 'imagesTr', 'b_0000.nii.gz'), 'not a nifti');
  await writeFile(path.join(ds, 'labelsTr', 'b.nii.gz'), 'not a nifti');

  for (const verifyIntegrity of [true, false]) {
    await assert.rejects(planAndPreprocess({ datasetId: 5, dirs: { raw, preprocessed: pre }, verifyIntegrity, numProcesses: 1 }), (e: Error) => {
      assert.ok(e instanceof UserError, String(e));
      if (verifyIntegrity) {
        for (const file of ['labelsTr/a.nii.gz', 'labelsTr/b.nii.gz', 'imagesTr/b_0000.nii.gz']) assert.ok(e.message.includes(file), `${file} not named in:\n${e.message}`);
      }
      return true;
    });
    assert.equal(existsSync(pre), false, `nnUNet_preprocessed was written (verifyIntegrity ${verifyIntegrity})`);
  }
});

import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ensembleFolders } from '../../src/inference/ensemble.js';
import { loadModel } from '../../src/inference/load-model.js';
import { predict, predictCases, predictLogits } from '../../src/inference/predictor.js';
import { readNifti } from '../../src/io/nifti.js';
import { readNpz } from '../../src/io/npz.js';
import { Generator, randn, tensor, tidy } from '../../src/torch/index.js';
import { pythonUnavailable, runPython } from '../io/reference-python.js';
import { assertClose } from '../torch/torch-reference.js';
import { writeCase, writeTinyModel } from './model-fixture.js';

let root: string;
let modelDir: string;
let inputDir: string;
// [z, y, x]; the crop box is the nonzero region
const CASES: Record<string, { shape: number[]; box: number[][] | null }> = {
  cropped: { shape: [14, 30, 22], box: [[2, 12], [5, 24], [3, 22]] },
  small: { shape: [5, 9, 7], box: null },
};

before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'nnunet-inference-'));
  modelDir = path.join(root, 'model');
  inputDir = path.join(root, 'input');
  await writeTinyModel(modelDir, [0, 1]);
  let seed = 1;
  for (const [id, c] of Object.entries(CASES)) await writeCase(inputDir, id, c.shape, c.box, seed++);
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('predictCases writes one label map per case with exactly the input\'s shape and geometry', async (t) => {
  const out = path.join(root, 'pred_both');
  const events: string[] = [];
  const result = await predictCases({ inputFolder: inputDir, outputFolder: out, modelFolder: modelDir, folds: [0, 1], onProgress: (e) => events.push(`${e.caseId}:${e.status}`) });
  assert.deepEqual(result.predicted, ['cropped', 'small']);
  assert.deepEqual(events, ['cropped:predicted', 'small:predicted']);
  for (const [id, c] of Object.entries(CASES)) {
    const input = await readNifti(path.join(inputDir, `${id}_0000.nii.gz`));
    const pred = await readNifti(path.join(out, `${id}.nii.gz`));
    assert.deepEqual(pred.shape, c.shape, `${id}: shape`);
    assert.equal(pred.header.datatype, 'uint8');
    pred.affine.forEach((row, r) => row.forEach((v, k) => assert.ok(Math.abs(v - input.affine[r][k]) < 1e-5, `${id}: affine[${r}][${k}] ${v} vs ${input.affine[r][k]}`)));
    const labels = [...new Set(pred.data)].sort();
    assert.ok(labels.every((l) => l >= 0 && l <= 2), `${id}: labels ${labels}`);
    if (c.box) {
      // nothing outside the nonzero crop box
      const [z0, z1] = c.box[0];
      const [y0, y1] = c.box[1];
      const [x0, x1] = c.box[2];
      const [, Y, X] = c.shape;
      for (let i = 0; i < pred.data.length; i++) {
        const z = Math.floor(i / (Y * X));
        const y = Math.floor(i / X) % Y;
        const x = i % X;
        if (z < z0 || z >= z1 || y < y0 || y >= y1 || x < x0 || x >= x1) assert.equal(pred.data[i], 0, `${id}: voxel ${z},${y},${x} outside the box`);
      }
    }
  }
  // an unchanged rerun skips every case; overwrite predicts again
  const again = await predictCases({ inputFolder: inputDir, outputFolder: out, modelFolder: modelDir, folds: [0, 1], useMirroring: false });
  assert.deepEqual(again, { predicted: [], skipped: ['cropped', 'small'] });
  const before = (await stat(path.join(out, 'small.nii.gz'))).mtimeMs;
  await predictCases({ inputFolder: inputDir, outputFolder: out, modelFolder: modelDir, folds: [0, 1], overwrite: true, backgroundExport: false, useMirroring: false });
  assert.ok((await stat(path.join(out, 'small.nii.gz'))).mtimeMs >= before);
  assert.deepEqual((await readdir(out)).filter((n) => n.startsWith('.')), [], 'no temp files left');

  const why = pythonUnavailable(['nibabel', 'numpy']);
  if (why) return t.skip(why);
  const checks = runPython<Record<string, boolean>>(
    `
import sys, json, nibabel as nib, numpy as np
res = {}
for cid in ['cropped', 'small']:
    a = nib.load(f'{sys.argv[1]}/{cid}_0000.nii.gz'); b = nib.load(f'{sys.argv[2]}/{cid}.nii.gz')
    res[cid] = bool(a.shape == b.shape and np.allclose(a.affine, b.affine, atol=1e-5) and b.get_data_dtype() == np.uint8)
print(json.dumps(res))`,
    [inputDir, out],
  );
  assert.deepEqual(checks, { cropped: true, small: true }, 'nibabel: same shape, affine, uint8');
});

test('folds are ensembled by averaging logits', async () => {
  const both = await loadModel(modelDir, { folds: [0, 1] });
  const [m0, m1] = [await loadModel(modelDir, { folds: [0] }), await loadModel(modelDir, { folds: [1] })];
  try {
    assert.deepEqual(both.mirrorAxes, [0, 1, 2]);
    assert.equal(both.configurationName, '3d_fullres');
    tidy(() => {
      const x = randn([1, 18, 20, 17], new Generator(3));
      const opts = { useMirroring: false };
      const mean = predictLogits(m0, x, opts).add(predictLogits(m1, x, opts)).div(2);
      assertClose(predictLogits(both, x, opts), mean, { atol: 1e-5, rtol: 1e-5, what: 'two-fold logits' });
    });
  } finally {
    [both, m0, m1].forEach((m) => m.dispose());
  }
});

test('ensembleFolders averages the saved probabilities of two folds and takes the argmax', async () => {
  const dirs = [path.join(root, 'pred_f0'), path.join(root, 'pred_f1')];
  for (const [fold, dir] of dirs.entries()) {
    await predictCases({ inputFolder: inputDir, outputFolder: dir, modelFolder: modelDir, folds: [fold], saveProbabilities: true, useMirroring: false });
  }
  const ens = path.join(root, 'ensemble');
  const result = await ensembleFolders(dirs, ens, { saveProbabilities: true });
  assert.deepEqual(result, { ensembled: ['cropped', 'small'], incomplete: [] });
  for (const [id, c] of Object.entries(CASES)) {
    const [p0, p1] = await Promise.all(dirs.map(async (d) => (await readNpz(path.join(d, `${id}.npz`))).probabilities));
    const pe = (await readNpz(path.join(ens, `${id}.npz`))).probabilities;
    assert.deepEqual(p0.shape, [3, ...c.shape]);
    tidy(() => {
      const mean = tensor(p0.data as Float32Array, p0.shape).add(tensor(p1.data as Float32Array, p1.shape)).div(2);
      assertClose(tensor(pe.data as Float32Array, pe.shape), mean, { atol: 1e-6, what: `${id} probabilities` });
    });
    const seg = await readNifti(path.join(ens, `${id}.nii.gz`));
    const input = await readNifti(path.join(inputDir, `${id}_0000.nii.gz`));
    assert.deepEqual(seg.shape, input.shape);
    tidy(() => {
      const expected = tensor(pe.data as Float32Array, pe.shape).argmax(0).to('uint8').toArray();
      assert.deepEqual(Array.from(seg.data), expected, `${id}: labels are the argmax of the mean`);
    });
  }
});

test('predict() returns the label map of one case given as a file or as volumes, equal to predictCases', async () => {
  const file = path.join(inputDir, 'cropped_0000.nii.gz');
  const options = { folds: [0], useMirroring: false };
  const fromFile = await predict(file, modelDir, { ...options, returnProbabilities: true });
  // written by the ensembling test with the same fold and settings
  const written = await readNifti(path.join(root, 'pred_f0', 'cropped.nii.gz'));
  assert.deepEqual(fromFile.shape, CASES.cropped.shape);
  assert.ok(fromFile.labels instanceof Uint8Array);
  assert.deepEqual(Array.from(fromFile.labels), Array.from(written.data));
  const savedProbabilities = (await readNpz(path.join(root, 'pred_f0', 'cropped.npz'))).probabilities.data;
  tidy(() => assertClose(tensor(fromFile.probabilities as Float32Array), tensor(savedProbabilities as Float32Array), { atol: 1e-6, what: 'probabilities' }));
  const fromVolumes = await predict([await readNifti(file)], modelDir, options);
  assert.deepEqual(Array.from(fromVolumes.labels), Array.from(fromFile.labels));
  await assert.rejects(predict(path.join(inputDir, 'nothing'), modelDir), /missing channel file/);
  await assert.rejects(predict(file, path.join(root, 'no-model')), /model folder does not exist/);
});

test('predictCases holds its output folder: a concurrent one into the same folder is refused, and the lock is released', async () => {
  const out = path.join(root, 'pred_locked');
  const run = () => predictCases({ inputFolder: inputDir, outputFolder: out, modelFolder: modelDir, folds: [0], useMirroring: false });
  const results = await Promise.allSettled([run(), run()]);
  const refused = results.filter((r) => r.status === 'rejected');
  assert.equal(refused.length, 1, JSON.stringify(results));
  assert.match(String((refused[0] as PromiseRejectedResult).reason), new RegExp(`UserError: ${out} is in use by this process \\(pid ${process.pid} `));
  assert.deepEqual((await readdir(out)).filter((n) => n.startsWith('.')), [], 'lock released');
});

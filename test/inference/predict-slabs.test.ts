// predictCases and predict() take the sliding window's slabs straight to labels when one network predicts a case
// whose logits need no resampling back: the labels must be byte for byte those of the whole-volume export (forced
// here by asking for the probabilities), with mirroring, a crop box, several slabs and a transpose back.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { canExportInSlabs } from '../../src/inference/export.js';
import { loadModel } from '../../src/inference/load-model.js';
import { predict, predictCases } from '../../src/inference/predictor.js';
import { readNifti } from '../../src/io/nifti.js';
import { loadDatasetJson } from '../../src/planning/dataset-json.js';
import { preprocessCase } from '../../src/preprocessing/preprocess-case.js';
import { OBLIQUE_AFFINE, tinyPlans, writeCase, writeTinyModel } from './model-fixture.js';

let root: string;
let modelDir: string;
let inputDir: string;
// [z, y, x]; transposed [x, z, y], the window moves along x: 37 rows after cropping, three slabs
const SHAPE = [10, 20, 40];
const BOX = [[1, 10], [2, 19], [0, 37]];

// the target spacing is the input's (OBLIQUE_AFFINE: 2.5 / 1.2 / 0.8 mm along z / y / x) in transposed order
function plansWithoutResampling() {
  const transpose = [2, 0, 1];
  const plans = tinyPlans(transpose);
  const spacing = [2.5, 1.2, 0.8];
  plans.configurations['3d_fullres'].spacing = transpose.map((a) => spacing[a]);
  return plans;
}

before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'nnunet-slabs-'));
  modelDir = path.join(root, 'model');
  inputDir = path.join(root, 'input');
  await writeTinyModel(modelDir, [0], plansWithoutResampling());
  await writeCase(inputDir, 'case', SHAPE, BOX, 3, OBLIQUE_AFFINE);
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('the case qualifies for the slab path: its preprocessed shape is its cropped shape', async () => {
  const image = await readNifti(path.join(inputDir, 'case_0000.nii.gz'));
  const pre = preprocessCase([image], null, plansWithoutResampling(), '3d_fullres', await loadDatasetJson(path.join(modelDir, 'dataset.json')));
  assert.deepEqual(pre.shape.slice(1), [37, 9, 17]);
  assert.ok(canExportInSlabs(pre.shape.slice(1), pre.properties));
});

test('predictCases: slab labels equal the whole-volume export byte for byte', async () => {
  const slabsOut = path.join(root, 'slabs');
  const wholeOut = path.join(root, 'whole');
  const common = { inputFolder: inputDir, modelFolder: modelDir, folds: [0], tileBatchSize: 2 };
  await predictCases({ ...common, outputFolder: slabsOut });
  await predictCases({ ...common, outputFolder: wholeOut, saveProbabilities: true });
  const slabs = await readNifti(path.join(slabsOut, 'case.nii.gz'));
  const whole = await readNifti(path.join(wholeOut, 'case.nii.gz'));
  assert.deepEqual(slabs.shape, SHAPE);
  assert.equal(slabs.header.datatype, 'uint8');
  assert.ok(new Set(whole.data).size >= 2, 'the labels are not trivial');
  // the whole files: voxels and header alike
  assert.deepEqual(gunzipSync(await readFile(path.join(slabsOut, 'case.nii.gz'))), gunzipSync(await readFile(path.join(wholeOut, 'case.nii.gz'))));
});

test('predict(): slab labels equal those computed with the probabilities', async () => {
  const model = await loadModel(modelDir, { folds: [0] });
  try {
    const file = path.join(inputDir, 'case');
    const slabs = await predict(file, model, { useMirroring: false });
    const whole = await predict(file, model, { useMirroring: false, returnProbabilities: true });
    assert.equal(slabs.probabilities, undefined);
    assert.deepEqual(slabs.shape, whole.shape);
    assert.deepEqual(Buffer.from(slabs.labels.buffer), Buffer.from(whole.labels.buffer));
  } finally {
    model.dispose();
  }
});

// A dataset with an `ignore` label, end to end: planned, trained (the ignore label gets no head and no loss),
// validated and evaluated (ignore voxels count nowhere), and predicted without ever painting the ignore value.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, test } from 'node:test';
import { generateSyntheticDataset } from '../../../src/cli/demo/synthetic-dataset.js';
import { validateFold } from '../../../src/inference/validate-fold.js';
import { loadModel } from '../../../src/inference/load-model.js';
import { predictCases } from '../../../src/inference/predictor.js';
import { readNifti, writeNifti } from '../../../src/io/nifti.js';
import { planAndPreprocess } from '../../../src/preprocessing/plan-and-preprocess.js';
import { train } from '../../../src/training/trainer.js';

const IGNORE = 3;
let root = '';
let raw = '';
let preprocessedDatasetDir = '';
let datasetName = '';

before(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'nnunet-ignore-'));
  raw = path.join(root, 'raw');
  const d = await generateSyntheticDataset({ rawDir: raw, numTraining: 6, numTest: 1, shape: [12, 24, 24], seed: 3 });
  datasetName = d.datasetName;
  // sparse annotation: the front third of every training label is unknown (ignore)
  const labelsTr = path.join(d.datasetDir, 'labelsTr');
  for (const f of readdirSync(labelsTr)) {
    const v = await readNifti(path.join(labelsTr, f));
    const data = Uint8Array.from(v.data as Uint8Array);
    const slab = (v.shape[1] * v.shape[2] * v.shape[0]) / 3;
    for (let i = 0; i < slab; i++) data[i] = IGNORE;
    await writeNifti(path.join(labelsTr, f), data, v.shape, v.header);
  }
  const jsonFile = path.join(d.datasetDir, 'dataset.json');
  const json = JSON.parse(readFileSync(jsonFile, 'utf8')) as { labels: Record<string, number> };
  json.labels.ignore = IGNORE;
  writeFileSync(jsonFile, JSON.stringify(json, null, 2));
  await planAndPreprocess({ datasetId: datasetName, dirs: { raw, preprocessed: path.join(root, 'preprocessed') }, configurations: ['3d_fullres'], numProcesses: 1, verifyIntegrity: true });
  preprocessedDatasetDir = path.join(root, 'preprocessed', datasetName);
});

test('a dataset with an ignore label trains, validates, predicts and evaluates without counting it', async () => {
  const resultsDatasetDir = path.join(root, 'results', datasetName);
  const r = await train({ preprocessedDatasetDir, resultsDatasetDir, configuration: '3d_fullres', fold: 0, numEpochs: 3, iterationsPerEpoch: 4, valIterations: 2, echo: () => undefined });
  assert.equal(r.epochs, 3);
  assert.ok(Number.isFinite(r.bestEma ?? Number.NaN), `the pseudo Dice is finite: ${r.bestEma}`);
  const model = await loadModel(path.dirname(r.outputFolder));
  assert.equal(model.numClasses, 3, 'background, structure, appendix: no head for ignore');
  model.dispose();

  const summary = await validateFold({ preprocessedDatasetDir, resultsDatasetDir, configuration: '3d_fullres', fold: 0, plansName: 'nnUNetPlans', saveProbabilities: false, device: 'cpu' });
  assert.deepEqual(Object.keys(summary.mean).sort(), ['1', '2'], 'evaluation leaves the ignore label out');

  const out = path.join(root, 'predictions');
  await predictCases({ inputFolder: path.join(raw, datasetName, 'imagesTs'), outputFolder: out, modelFolder: path.dirname(r.outputFolder), folds: [0] });
  const pred = await readNifti(path.join(out, readdirSync(out).find((f) => f.endsWith('.nii.gz')) as string));
  assert.ok(!(pred.data as Uint8Array).includes(IGNORE), 'the ignore value is never predicted');
});

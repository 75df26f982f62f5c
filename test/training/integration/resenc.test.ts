// ResidualEncoderUNet plans through the whole chain: train, predict in the input's geometry, fine-tune from its
// checkpoint with --pretrained-weights (segmentation heads skipped by the registry's head prefix).
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import { predictCases } from '../../../src/inference/predictor.js';
import { readNifti } from '../../../src/io/nifti.js';
import { train } from '../../../src/training/trainer.js';
import { type TinyDataset, tinyDataset } from './fixture.js';

const PLANS = 'tinyResEncPlans';
let data: TinyDataset;
before(async () => {
  data = await tinyDataset({ numTraining: 6 });
  const plans = JSON.parse(readFileSync(path.join(data.preprocessedDatasetDir, 'nnUNetPlans.json'), 'utf8'));
  const arch = plans.configurations['3d_fullres'].architecture;
  arch.network_class_name = 'dynamic_network_architectures.architectures.unet.ResidualEncoderUNet';
  arch.arch_kwargs.n_blocks_per_stage = arch.arch_kwargs.n_conv_per_stage.map((_: number, i: number) => Math.min(i + 1, 3));
  delete arch.arch_kwargs.n_conv_per_stage;
  plans.plans_name = PLANS;
  writeFileSync(path.join(data.preprocessedDatasetDir, `${PLANS}.json`), JSON.stringify(plans, null, 2));
});

test('ResEnc plans train, predict in the input geometry and seed a fine-tuning run', async () => {
  const lines: string[] = [];
  const common = { preprocessedDatasetDir: data.preprocessedDatasetDir, configuration: '3d_fullres', plansName: PLANS, numEpochs: 2, iterationsPerEpoch: 2, valIterations: 1, echo: (l: string) => lines.push(l) };
  const first = await train({ ...common, resultsDatasetDir: path.join(data.root, 'resenc'), fold: 0 });
  assert.equal(first.epochs, 2);
  assert.match(first.outputFolder, /nnUNetTrainer__tinyResEncPlans__3d_fullres\/fold_0$/);

  const out = path.join(data.root, 'resenc-predictions');
  const images = path.join(data.raw, data.datasetName, 'imagesTr');
  const one = readdirSync(images).filter((f) => f.endsWith('_0000.nii.gz')).slice(0, 1);
  const inputFolder = path.join(data.root, 'resenc-input');
  mkdirSync(inputFolder, { recursive: true });
  copyFileSync(path.join(images, one[0]), path.join(inputFolder, one[0]));
  await predictCases({ inputFolder, outputFolder: out, modelFolder: path.dirname(first.outputFolder), folds: [0] });
  const input = await readNifti(path.join(inputFolder, one[0]));
  const pred = await readNifti(path.join(out, one[0].replace('_0000', '')));
  assert.deepEqual(pred.shape, input.shape);
  assert.deepEqual(pred.affine, input.affine);

  const tuned = await train({ ...common, resultsDatasetDir: path.join(data.root, 'resenc-tuned'), fold: 1, pretrainedWeights: path.join(first.outputFolder, 'checkpoint_final.pth') });
  assert.equal(tuned.epochs, 2);
  assert.ok(lines.some((l) => /Loaded pretrained weights from .*checkpoint_final\.pth \(segmentation heads skipped\)/.test(l)));
});

test('the ResEnc M preset plans the tiny dataset on the shared data and `-p nnUNetResEncUNetMPlans` trains', async () => {
  const { planAndPreprocess } = await import('../../../src/preprocessing/plan-and-preprocess.js');
  await planAndPreprocess({ datasetId: data.datasetName, dirs: { raw: data.raw, preprocessed: data.preprocessed }, planner: 'nnUNetPlannerResEncM', configurations: ['3d_fullres'], numProcesses: 1 });
  const plans = JSON.parse(readFileSync(path.join(data.preprocessedDatasetDir, 'nnUNetResEncUNetMPlans.json'), 'utf8'));
  assert.equal(plans.configurations['3d_fullres'].data_identifier, 'nnUNetPlans_3d_fullres');
  const r = await train({ preprocessedDatasetDir: data.preprocessedDatasetDir, resultsDatasetDir: path.join(data.root, 'resenc-m'), configuration: '3d_fullres', fold: 0, plansName: 'nnUNetResEncUNetMPlans', numEpochs: 1, iterationsPerEpoch: 1, valIterations: 1, echo: () => undefined });
  assert.equal(r.epochs, 1);
  assert.match(r.outputFolder, /nnUNetTrainer__nnUNetResEncUNetMPlans__3d_fullres/);
});

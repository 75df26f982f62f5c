// A synthetic cross-validation where each of two models errs on other voxels with less confidence than the other is
// right: averaging their probabilities is perfect, so find-best-configuration must choose the ensemble, and the
// instructions say how to run it.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ensembleName, findBestConfiguration, readInferenceInformation, trainedModelsOf } from '../../src/evaluation/find-best-configuration.js';
import { createHeader, writeNifti } from '../../src/io/nifti.js';
import { writeNpz } from '../../src/io/npz.js';
import { modelFolder } from '../../src/model/model-folder.js';
import { tinyPlans } from '../inference/model-fixture.js';

const SHAPE = [2, 3, 4];
const N = 24;
const CASES = 10;
const FOLDS = [0, 1, 2, 3, 4];
const IDENTITY = [
  [1, 0, 0, 0],
  [0, 1, 0, 0],
  [0, 0, 1, 0],
  [0, 0, 0, 1],
];
const header = createHeader({ shape: SHAPE, affine: IDENTITY, dtype: 'uint8' });
const DATASET = 'Dataset999_Tiny';

const gtOf = (c: number) => Uint8Array.from({ length: N }, (_, i) => ((i * 7 + c * 3) % 5 < 2 ? 1 : 0));

/** Foreground probability of model `m` (0 or 1): right with 0.9, except on its own voxels, wrong with 0.7 / 0.6. */
function foregroundProbability(m: number, c: number, i: number, gt: number): number {
  const errs = (i + c + 3 * m) % 6 === 0;
  const wrong = m === 0 ? 0.7 : 0.6;
  return errs ? (gt ? 1 - wrong : wrong) : gt ? 0.9 : 0.1;
}

test('an ensemble that beats both single configurations is chosen', async () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'nnunet-fbc-'));
  const preprocessedDatasetDir = path.join(root, 'preprocessed', DATASET);
  const resultsDatasetDir = path.join(root, 'results', DATASET);
  const plans = tinyPlans();
  plans.configurations['3d_b'] = { inherits_from: '3d_fullres' };
  const datasetJson = { channel_names: { '0': 'CT' }, labels: { background: 0, fg: 1 }, numTraining: CASES, file_ending: '.nii.gz' };
  await mkdir(path.join(preprocessedDatasetDir, 'gt_segmentations'), { recursive: true });
  await writeFile(path.join(preprocessedDatasetDir, 'nnUNetPlans.json'), JSON.stringify(plans));
  for (let c = 0; c < CASES; c++) await writeNifti(path.join(preprocessedDatasetDir, 'gt_segmentations', `case_${c}.nii.gz`), gtOf(c), SHAPE, header);
  const models = trainedModelsOf(['nnUNetTrainer'], ['3d_fullres', '3d_b'], ['nnUNetPlans']);
  for (const [m, id] of models.entries()) {
    const dir = modelFolder(resultsDatasetDir, id);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'plans.json'), JSON.stringify(plans));
    await writeFile(path.join(dir, 'dataset.json'), JSON.stringify(datasetJson));
    for (let c = 0; c < CASES; c++) {
      const validation = path.join(dir, `fold_${Math.floor(c / 2)}`, 'validation');
      await mkdir(validation, { recursive: true });
      const gt = gtOf(c);
      const fg = Float32Array.from({ length: N }, (_, i) => foregroundProbability(m, c, i, gt[i]));
      const probabilities = new Float32Array(2 * N);
      fg.forEach((p, i) => {
        probabilities[i] = 1 - p;
        probabilities[N + i] = p;
      });
      const base = path.join(validation, `case_${c}`);
      await writeNpz(`${base}.npz`, { probabilities: { data: probabilities, shape: [2, ...SHAPE] } });
      const properties = { spacing: [1, 1, 1], shape_before_cropping: SHAPE, bbox_used_for_cropping: SHAPE.map((s) => [0, s]), shape_after_cropping_and_before_resampling: SHAPE, class_locations: {}, nifti_header: header };
      await writeFile(`${base}.json`, JSON.stringify(properties));
      await writeNifti(`${base}.nii.gz`, Uint8Array.from(fg, (p) => (p > 0.5 ? 1 : 0)), SHAPE, header);
    }
  }

  const info = await findBestConfiguration({ datasetName: DATASET, resultsDatasetDir, preprocessedDatasetDir, models, folds: FOLDS, numProcesses: 2, echo: () => undefined });
  const key = ensembleName(models[0], models[1], FOLDS);
  const singles = models.map((id) => info.all_results[`${id.trainer}__${id.plans}__${id.configuration}`]);
  assert.equal(info.all_results[key], 1, 'the ensemble is perfect');
  for (const s of singles) assert.ok(s < 0.95, `single Dice ${s}`);
  assert.equal(info.best_model_or_ensemble.result_on_crossval_pre_pp, 1);
  assert.deepEqual(info.best_model_or_ensemble.selected_model_or_models, [
    { configuration: '3d_fullres', trainer: 'nnUNetTrainer', plans_identifier: 'nnUNetPlans' },
    { configuration: '3d_b', trainer: 'nnUNetTrainer', plans_identifier: 'nnUNetPlans' },
  ]);
  assert.equal(info.best_model_or_ensemble.postprocessing_file, path.join(resultsDatasetDir, 'ensembles', key, 'postprocessing.pkl'));
  assert.deepEqual(await readInferenceInformation(path.join(resultsDatasetDir, 'inference_information.json')), info);
  const text = readFileSync(path.join(resultsDatasetDir, 'inference_instructions.txt'), 'utf8');
  assert.match(text, /An ensemble won!/);
  assert.match(text, /-o OUTPUT_FOLDER_MODEL_2 -f 0 1 2 3 4 -tr nnUNetTrainer -c 3d_b -p nnUNetPlans --save-probabilities/);
  assert.match(text, /nnunet ensemble -i OUTPUT_FOLDER_MODEL_1 OUTPUT_FOLDER_MODEL_2 -o OUTPUT_FOLDER/);

  // without ensembling the better single model wins
  const single = await findBestConfiguration({ datasetName: DATASET, resultsDatasetDir, preprocessedDatasetDir, models, folds: FOLDS, allowEnsembling: false, echo: () => undefined });
  assert.equal(Object.keys(single.all_results).length, 2);
  assert.equal(single.best_model_or_ensemble.selected_model_or_models.length, 1);
  assert.equal(single.best_model_or_ensemble.result_on_crossval_pre_pp, Math.max(...singles));
});

// find-best-configuration end to end: two configurations × 5 one-epoch folds of a tiny generated dataset (the second
// is 3d_fullres under another name with another batch size, as a plans file may hold), validated with probabilities;
// the command writes upstream's files, and its postprocessing applied by `apply-postprocessing` equals predict +
// the same postprocessing in memory.
import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { link, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { before, test } from 'node:test';
import { main } from '../../src/cli/program.js';
import { findBestConfiguration, readInferenceInformation, trainedModelsOf } from '../../src/evaluation/find-best-configuration.js';
import { parsePythonJson } from '../../src/evaluation/python-json.js';
import { ensembleFolders } from '../../src/inference/ensemble.js';
import { validateFold } from '../../src/inference/validate-fold.js';
import { predictCases } from '../../src/inference/predictor.js';
import { readNifti } from '../../src/io/nifti.js';
import { modelFolder } from '../../src/model/model-folder.js';
import { readPostprocessingPkl } from '../../src/postprocessing/postprocessing-pkl.js';
import { applyPostprocessing } from '../../src/postprocessing/remove-components.js';
import { train } from '../../src/training/trainer.js';
import { type TinyDataset, tinyDataset } from '../training/integration/fixture.js';

const CONFIGS = ['3d_fullres', '3d_fullres_b'];
const FOLDS = [0, 1, 2, 3, 4];
const quiet = () => undefined;

let data: TinyDataset;
let cliOutput = '';

/** Runs the CLI in this process, keeping what it prints. */
async function cli(args: string[]): Promise<number> {
  const log = console.log;
  console.log = (...a: unknown[]) => {
    cliOutput += `${a.join(' ')}\n`;
  };
  try {
    return await main([...args, ...(args[0] === 'find-best-configuration' ? ['--results', data.results, '--preprocessed', data.preprocessed, '--raw', data.raw] : [])]);
  } finally {
    console.log = log;
  }
}

before(async () => {
  data = await tinyDataset();
  const plansFile = path.join(data.preprocessedDatasetDir, 'nnUNetPlans.json');
  const plans = JSON.parse(readFileSync(plansFile, 'utf8'));
  plans.configurations['3d_fullres_b'] = { inherits_from: '3d_fullres', batch_size: 1 };
  writeFileSync(plansFile, JSON.stringify(plans, null, 4));
  for (const configuration of CONFIGS) {
    for (const fold of FOLDS) {
      const common = { preprocessedDatasetDir: data.preprocessedDatasetDir, resultsDatasetDir: data.resultsDatasetDir, configuration, fold };
      await train({ ...common, numEpochs: 1, iterationsPerEpoch: 2, valIterations: 1, seed: fold + 10 * CONFIGS.indexOf(configuration), echo: quiet });
      await validateFold({ ...common, plansName: 'nnUNetPlans', saveProbabilities: true, device: 'cpu' });
    }
  }
});

test('find-best-configuration writes the crossval, ensemble, postprocessing and inference files as upstream', async () => {
  const code = await cli(['find-best-configuration', data.datasetName, '-c', ...CONFIGS, '-f', ...FOLDS.map(String), '-np', '2']);
  assert.equal(code, 0, cliOutput);
  const ids = CONFIGS.map((configuration) => ({ trainer: 'nnUNetTrainer', plans: 'nnUNetPlans', configuration }));
  for (const id of ids) {
    const merged = path.join(modelFolder(data.resultsDatasetDir, id), 'crossval_results_folds_0_1_2_3_4');
    assert.equal(readdirSync(merged).filter((f) => f.endsWith('.nii.gz')).length, 10, 'every case once');
    for (const f of ['summary.json', 'plans.json', 'dataset.json']) assert.ok(existsSync(path.join(merged, f)), f);
  }
  const ensemble = path.join(data.resultsDatasetDir, 'ensembles', 'ensemble___nnUNetTrainer__nnUNetPlans__3d_fullres___nnUNetTrainer__nnUNetPlans__3d_fullres_b___0_1_2_3_4');
  assert.equal(readdirSync(ensemble).filter((f) => f.endsWith('.nii.gz')).length, 10);
  assert.ok(existsSync(path.join(ensemble, 'summary.json')));

  const info = await readInferenceInformation(path.join(data.resultsDatasetDir, 'inference_information.json'));
  assert.deepEqual(Object.keys(info.all_results).sort(), ['ensemble___nnUNetTrainer__nnUNetPlans__3d_fullres___nnUNetTrainer__nnUNetPlans__3d_fullres_b___0_1_2_3_4', 'nnUNetTrainer__nnUNetPlans__3d_fullres', 'nnUNetTrainer__nnUNetPlans__3d_fullres_b']);
  const best = Math.max(...Object.values(info.all_results));
  assert.equal(info.best_model_or_ensemble.result_on_crossval_pre_pp, best);
  assert.ok(info.best_model_or_ensemble.result_on_crossval_post_pp >= best, 'postprocessing never lowers the chosen score');
  assert.deepEqual(info.folds, FOLDS);
  assert.equal(info.dataset_name_or_id, data.datasetName);
  assert.equal(info.considered_models.length, 2);
  const source = path.dirname(info.best_model_or_ensemble.postprocessing_file);
  for (const f of ['postprocessing.pkl', 'postprocessing.json', 'postprocessed/summary.json']) assert.ok(existsSync(path.join(source, f)), f);
  const ppJson = parsePythonJson(readFileSync(path.join(source, 'postprocessing.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(Object.keys(ppJson).sort(), ['input_folder', 'postprocessed', 'postprocessing_fns', 'postprocessing_kwargs']);
  assert.deepEqual(Object.keys(ppJson.input_folder as object).sort(), ['foreground_mean', 'mean']);
  const text = readFileSync(path.join(data.resultsDatasetDir, 'inference_instructions.txt'), 'utf8');
  assert.match(text, /nnunet predict -d Dataset\S+ -i INPUT_FOLDER -o OUTPUT_FOLDER\S* -f 0 1 2 3 4 -tr nnUNetTrainer -c 3d_fullres/);
  assert.match(text, /nnunet apply-postprocessing -i OUTPUT_FOLDER -o OUTPUT_FOLDER_PP -pp_pkl_file \S+postprocessing\.pkl -np 2 -plans_json \S+plans\.json/);
  assert.equal(info.best_model_or_ensemble.selected_model_or_models.length > 1, /An ensemble won!/.test(text));
  console.log(`all results: ${JSON.stringify(info.all_results)}; post-pp ${info.best_model_or_ensemble.result_on_crossval_post_pp}; steps ${JSON.stringify(ppJson.postprocessing_kwargs)}`);

  // apply-postprocessing on the winner's cross-validation reproduces determine_postprocessing's postprocessed/
  const again = path.join(data.root, 'crossval-pp');
  assert.equal(await cli(['apply-postprocessing', '-i', source, '-o', again, '-pp_pkl_file', info.best_model_or_ensemble.postprocessing_file, '-plans_json', info.best_model_or_ensemble.some_plans_file, '-np', '2']), 0, cliOutput);
  for (const f of readdirSync(again)) {
    assert.deepEqual((await readNifti(path.join(again, f))).data, (await readNifti(path.join(source, 'postprocessed', f))).data, f);
  }

  // predict with the chosen model(s) as the instructions say, then postprocess: CLI and library agree
  const input = path.join(data.root, 'new-images');
  await mkdir(input, { recursive: true });
  const imagesTr = path.join(data.raw, data.datasetName, 'imagesTr');
  for (const f of readdirSync(imagesTr).sort().slice(0, 2)) await link(path.join(imagesTr, f), path.join(input, f));
  const selected = info.best_model_or_ensemble.selected_model_or_models;
  const outputs = selected.map((_, j) => path.join(data.root, `pred-${j}`));
  for (const [j, s] of selected.entries()) {
    await predictCases({ inputFolder: input, outputFolder: outputs[j], modelFolder: modelFolder(data.resultsDatasetDir, { trainer: s.trainer, plans: s.plans_identifier, configuration: s.configuration }), saveProbabilities: selected.length > 1, device: 'cpu' });
  }
  const predicted = path.join(data.root, 'pred');
  if (selected.length > 1) await ensembleFolders(outputs, predicted);
  else cpSync(outputs[0], predicted, { recursive: true });
  const pp = path.join(data.root, 'pred-pp');
  assert.equal(await cli(['apply-postprocessing', '-i', predicted, '-o', pp, '--pp-pkl-file', info.best_model_or_ensemble.postprocessing_file]), 0, cliOutput);
  const steps = await readPostprocessingPkl(info.best_model_or_ensemble.postprocessing_file);
  const cases = readdirSync(predicted).filter((f) => f.endsWith('.nii.gz'));
  assert.equal(cases.length, 2);
  for (const f of cases) {
    const raw = await readNifti(path.join(predicted, f));
    const out = await readNifti(path.join(pp, f));
    assert.deepEqual(out.data, applyPostprocessing(raw.data, raw.shape, steps), f);
    assert.deepEqual(out.header.srow, raw.header.srow, 'geometry kept');
  }
});

test('missing validation probabilities name each fold and the command that makes them', async () => {
  const results = path.join(data.root, 'no-npz');
  cpSync(data.resultsDatasetDir, results, { recursive: true });
  const validation = path.join(modelFolder(results, { trainer: 'nnUNetTrainer', plans: 'nnUNetPlans', configuration: '3d_fullres_b' }), 'fold_2', 'validation');
  for (const f of readdirSync(validation).filter((n) => n.endsWith('.npz'))) rmSync(path.join(validation, f));
  await assert.rejects(
    findBestConfiguration({ datasetName: data.datasetName, resultsDatasetDir: results, preprocessedDatasetDir: data.preprocessedDatasetDir, models: trainedModelsOf(['nnUNetTrainer'], CONFIGS, ['nnUNetPlans']), folds: FOLDS, echo: quiet }),
    (e: Error) => e.name === 'UserError' && /3d_fullres_b fold 2: nnunet train \S+ 3d_fullres_b 2 .*--val --npz/.test(e.message) && !/fold [0134]:/.test(e.message) && /--disable_ensembling/.test(e.message),
  );
});

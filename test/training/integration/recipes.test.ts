// Trainer recipes (-tr), user recipe modules, callbacks with state across --c, typed events and the seed on resume.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import { loadModel } from '../../../src/inference/load-model.js';
import { foldFolder, modelFolder } from '../../../src/model/model-folder.js';
import { loadPth } from '../../../src/torch/serialization/pth-file.js';
import type { TrainingCallback } from '../../../src/training/callbacks/callback.js';
import { TrainerEvents } from '../../../src/training/events.js';
import { resolveRecipe } from '../../../src/training/recipes/registry.js';
import { train } from '../../../src/training/trainer.js';
import { type TinyDataset, tinyDataset } from './fixture.js';

let data: TinyDataset;
before(async () => {
  data = await tinyDataset({ numTraining: 6 });
});

const quiet = () => undefined;
const base = () => ({ preprocessedDatasetDir: data.preprocessedDatasetDir, configuration: '3d_fullres', fold: 0 as const, iterationsPerEpoch: 1, valIterations: 1, echo: quiet });

test('-tr nnUNetTrainer_5epochs ends after 5 epochs in its own results folder', async () => {
  const results = path.join(data.root, 'five');
  const r = await train({ ...base(), resultsDatasetDir: results, trainer: 'nnUNetTrainer_5epochs' });
  assert.equal(r.epochs, 5);
  const fold = foldFolder(results, { trainer: 'nnUNetTrainer_5epochs', plans: 'nnUNetPlans', configuration: '3d_fullres' }, 0);
  assert.equal(r.outputFolder, fold);
  const ckpt = (await loadPth(path.join(fold, 'checkpoint_final.pth'))) as { trainer_name: string; current_epoch: number };
  assert.equal(ckpt.trainer_name, 'nnUNetTrainer_5epochs');
  assert.equal(ckpt.current_epoch, 5);
  // a budget flag given explicitly overrides the recipe
  const two = await train({ ...base(), resultsDatasetDir: path.join(data.root, 'five-capped'), trainer: 'nnUNetTrainer_5epochs', numEpochs: 2 });
  assert.equal(two.epochs, 2);
});

test('an unknown -tr is one error listing the known trainers', async () => {
  await assert.rejects(resolveRecipe('nnUNetTrainerNope', {}), (e: Error) => e.name === 'UserError' && /unknown trainer 'nnUNetTrainerNope'/.test(e.message) && /nnUNetTrainer_1epoch/.test(e.message) && /nnUNetTrainerNoMirroring/.test(e.message));
});

test('nnUNetTrainerNoMirroring stores no test-time mirroring and prediction uses none', async () => {
  const results = path.join(data.root, 'nomirror');
  await train({ ...base(), resultsDatasetDir: results, trainer: 'nnUNetTrainerNoMirroring', numEpochs: 1 });
  const id = { trainer: 'nnUNetTrainerNoMirroring', plans: 'nnUNetPlans', configuration: '3d_fullres' };
  const ckpt = (await loadPth(path.join(foldFolder(results, id, 0), 'checkpoint_final.pth'))) as { inference_allowed_mirroring_axes: unknown };
  assert.equal(ckpt.inference_allowed_mirroring_axes, null);
  const model = await loadModel(modelFolder(results, id));
  assert.deepEqual(model.mirrorAxes, []);
  model.dispose();
  const only01 = await resolveRecipe('nnUNetTrainer_onlyMirror01');
  assert.deepEqual(only01.mirrorAxes([0, 1, 2], [16, 32, 32]), [0, 1]);
  assert.deepEqual(only01.mirrorAxes([0, 1], [32, 32]), [0]);
  assert.equal((await resolveRecipe('nnUNetTrainerDiceCELoss_noSmooth')).diceSmooth, 0);
  assert.equal((await resolveRecipe('nnUNetTrainer_warmup')).warmupEpochs, 50);
  assert.equal((await resolveRecipe('nnUNetTrainerNoDA')).augment, false);
});

test('a recipe module in nnUNet_extTrainer loads, extends a built-in recipe and names its folder', async () => {
  const ext = path.join(data.root, 'ext', 'nested');
  mkdirSync(ext, { recursive: true });
  writeFileSync(path.join(ext, 'my-recipes.mjs'), "export const short = { name: 'MyTrainer_lowLr', base: 'nnUNetTrainer_5epochs', numEpochs: 2, initialLr: 0.001 };\n");
  writeFileSync(path.join(data.root, 'ext', 'typed.ts'), "const lr: number = 0.002;\nexport default { name: 'MyTypedTrainer', numEpochs: 1, initialLr: lr };\n");
  const env = { nnUNet_extTrainer: path.join(data.root, 'ext') };
  const mine = await resolveRecipe('MyTrainer_lowLr', env);
  assert.equal(mine.numEpochs, 2);
  assert.equal(mine.iterationsPerEpoch, 250, 'the rest comes from the base recipe');
  assert.equal((await resolveRecipe('MyTypedTrainer', env)).initialLr, 0.002, 'TypeScript modules load under tsx');
  const results = path.join(data.root, 'ext-run');
  const r = await train({ ...base(), resultsDatasetDir: results, trainer: mine });
  assert.equal(r.epochs, 2);
  assert.match(r.outputFolder, /MyTrainer_lowLr__nnUNetPlans__3d_fullres/);
  const ckpt = (await loadPth(path.join(r.outputFolder, 'checkpoint_final.pth'))) as { logging: { lrs: number[] } };
  assert.ok(Math.abs(ckpt.logging.lrs[0] - 0.001) < 1e-12, `first LR ${ckpt.logging.lrs[0]}`);
  await assert.rejects(resolveRecipe('Nope', env), (e: Error) => /MyTrainer_lowLr/.test(e.message) && /MyTypedTrainer/.test(e.message));
});

/** Counts validations; its count is its checkpoint state. It sends itself SIGINT (in-process) after `stopAfter`. */
class CountingCallback implements TrainingCallback {
  readonly stateKey = 'counting';
  count = 0;
  loaded: unknown = null;
  constructor(private readonly stopAfter?: number) {}
  onValidationEnd(): void {
    this.count++;
    if (this.count === this.stopAfter) process.emit('SIGINT');
  }
  stateDict(): unknown {
    return { count: this.count };
  }
  loadStateDict(state: unknown): void {
    this.loaded = state;
    this.count = (state as { count: number }).count;
  }
}

test('a callback state survives --c, and events report iterations, checkpoints and the stop', async () => {
  const results = path.join(data.root, 'callback');
  const first = new CountingCallback(2);
  const r1 = await train({ ...base(), resultsDatasetDir: results, numEpochs: 4, callbacks: [first] });
  assert.equal(r1.interrupted, 'SIGINT');
  assert.equal(r1.epochs, 2);
  const events = new TrainerEvents();
  const seen = { iterations: 0, checkpoints: [] as string[], stop: '' };
  events.on('iteration', () => seen.iterations++);
  events.on('checkpoint', (e) => seen.checkpoints.push(e.kind));
  events.on('stop', (e) => (seen.stop = e.reason));
  const second = new CountingCallback();
  const r2 = await train({ ...base(), resultsDatasetDir: results, numEpochs: 4, continueTraining: true, callbacks: [second], events });
  assert.deepEqual(second.loaded, { count: 2 });
  assert.equal(second.count, 4);
  assert.equal(r2.epochs, 4);
  assert.equal(seen.iterations, 2, 'two epochs of one iteration after the resume');
  assert.ok(seen.checkpoints.includes('final') && seen.checkpoints.includes('latest'), seen.checkpoints.join());
  assert.equal(seen.stop, 'finished');
  const logs = readdirSync(r2.outputFolder).filter((f) => f.startsWith('training_log_'));
  assert.ok(logs.some((f) => /Resuming from checkpoint_latest\.pth at epoch 2/.test(readFileSync(path.join(r2.outputFolder, f), 'utf8'))));
});

test('--c takes the saved seed; an explicitly different seed is refused unless --allow-schedule-change', async () => {
  const results = path.join(data.root, 'seed');
  const common = { ...base(), resultsDatasetDir: results, saveEvery: 1 };
  await train({ ...common, numEpochs: 2, seed: 7, callbacks: [new CountingCallback(1)] });
  await assert.rejects(train({ ...common, numEpochs: 2, seed: 8, continueTraining: true }), (e: Error) => e.name === 'UserError' && /seed: saved 7, requested 8/.test(e.message));
  const resumed = await train({ ...common, numEpochs: 2, continueTraining: true });
  assert.equal(resumed.epochs, 2);
  const ckpt = (await loadPth(path.join(resumed.outputFolder, 'checkpoint_final.pth'))) as { nnunet_ts: { schedule: { seed: number } } };
  assert.equal(ckpt.nnunet_ts.schedule.seed, 7, 'the resumed run kept the saved seed');
});

test('a cascade stage whose previous_stage the plans lack is refused, naming the plans file', async () => {
  const plansFile = path.join(data.preprocessedDatasetDir, 'nnUNetPlans.json');
  const plans = JSON.parse(readFileSync(plansFile, 'utf8')) as { configurations: Record<string, unknown> };
  plans.configurations['3d_cascade_fullres'] = { inherits_from: '3d_fullres', previous_stage: '3d_lowres' };
  writeFileSync(path.join(data.preprocessedDatasetDir, 'cascadePlans.json'), JSON.stringify(plans));
  await assert.rejects(
    train({ ...base(), configuration: '3d_cascade_fullres', plansName: 'cascadePlans', resultsDatasetDir: path.join(data.root, 'cascade'), numEpochs: 1 }),
    (e: Error) => e.name === 'UserError' && /cascade/.test(e.message) && /previous_stage '3d_lowres'/.test(e.message) && /cascadePlans\.json/.test(e.message),
  );
});

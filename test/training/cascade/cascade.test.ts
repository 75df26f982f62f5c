// 3d_lowres → 3d_cascade_fullres end to end on a tiny planned dataset: the cascade refuses to train without the
// lowres predictions (naming the folds and commands), 3d_lowres trains and its final validation writes
// predicted_next_stage/ at the fullres geometry, the cascade trains on image + one-hot channels and validates, and
// `predict -c 3d_cascade_fullres` runs the lowres model first or takes -prev_stage_predictions, with the same result.
// Five lowres folds would take minutes: fold 0 is trained, the other folds' cases are written by the same writer the
// lowres validation uses (stageLinks), from lowres logits made of the lowres reference segmentation.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { BatchSource } from '../../../src/data/batch-source.js';
import { PREDICTED_NEXT_STAGE, writeNextStageSegmentation } from '../../../src/data/previous-stage.js';
import { stageLinks } from '../../../src/inference/cascade.js';
import { loadModel } from '../../../src/inference/load-model.js';
import { predict } from '../../../src/inference/predictor.js';
import { validateFold } from '../../../src/inference/validate-fold.js';
import { readNifti } from '../../../src/io/nifti.js';
import { readNpy, readNpz } from '../../../src/io/npz.js';
import { readPreprocessedCase } from '../../../src/preprocessing/preprocessed-store.js';
import { type Tensor, cat, dispose, tensor, tidy } from '../../../src/torch/index.js';
import { loadPth } from '../../../src/torch/serialization/pth-file.js';
import { train } from '../../../src/training/trainer.js';
import { outputOf, runCli } from '../../cli/cli-process.js';
import { pythonUnavailable, runPython } from '../../evaluation/python-ref.js';
import { type CascadeDataset, cascadeDataset, readPlans } from './fixture.js';

const TRAINER = 'nnUNetTrainer';
const BUDGET = { numEpochs: 1, iterationsPerEpoch: 2, valIterations: 1 };
let d: CascadeDataset;
let splits: { train: string[]; val: string[] }[];

before(async () => {
  d = await cascadeDataset();
});
after(() => rmSync(d.root, { recursive: true, force: true }));

const lowresModel = () => path.join(d.resultsDatasetDir, `${TRAINER}__nnUNetPlans__3d_lowres`);
const nextStageDir = () => path.join(lowresModel(), PREDICTED_NEXT_STAGE, '3d_cascade_fullres');
const spatialOf = async (config: string, id: string) => (await readNpy(path.join(d.preprocessedDatasetDir, `nnUNetPlans_${config}`, `${id}_seg.npy`))).shape.slice(1);

test('the planner makes 3d_lowres and 3d_cascade_fullres for this dataset', () => {
  const c = readPlans(d).configurations;
  assert.equal(c['3d_lowres'].next_stage, '3d_cascade_fullres');
  assert.equal(c['3d_cascade_fullres'].previous_stage, '3d_lowres');
});

test('train 3d_cascade_fullres without the lowres predictions: one error naming the five folds and their commands', async () => {
  const r = await runCli(['train', d.datasetName, '3d_cascade_fullres', '0', '--preprocessed', d.preprocessed, '--results', d.results, '--num-epochs', '1']);
  assert.equal(r.code, 1, outputOf(r));
  assert.match(r.stderr, /^nnunet: 3d_cascade_fullres is a cascade stage/, outputOf(r));
  assert.match(r.stderr, /lacks 5 of 5/, outputOf(r));
  assert.match(r.stderr, /fold\(s\) 0, 1, 2, 3, 4/, outputOf(r));
  for (let f = 0; f < 5; f++) assert.ok(r.stderr.includes(`nnunet train ${d.datasetName} 3d_lowres ${f}`), outputOf(r));
});

test('3d_lowres trains; its validation writes predicted_next_stage at the fullres shape; the cascade trains, validates and predicts', async () => {
  splits = JSON.parse(readFileSync(path.join(d.preprocessedDatasetDir, 'splits_final.json'), 'utf8')) as typeof splits;
  await train({ preprocessedDatasetDir: d.preprocessedDatasetDir, resultsDatasetDir: d.resultsDatasetDir, configuration: '3d_lowres', fold: 0, ...BUDGET, echo: () => undefined });
  await validateFold({ preprocessedDatasetDir: d.preprocessedDatasetDir, resultsDatasetDir: d.resultsDatasetDir, configuration: '3d_lowres', fold: 0, plansName: 'nnUNetPlans', saveProbabilities: false, device: 'cpu' });
  for (const id of splits[0].val) {
    const seg = (await readNpz(path.join(nextStageDir(), `${id}.npz`))).seg;
    assert.equal(seg.dtype, 'uint8');
    assert.deepEqual(seg.shape, await spatialOf('3d_fullres', id), `${id}: the fullres preprocessed shape`);
  }

  // with one lowres fold done, the cascade still names the four missing folds
  await assert.rejects(
    train({ preprocessedDatasetDir: d.preprocessedDatasetDir, resultsDatasetDir: d.resultsDatasetDir, configuration: '3d_cascade_fullres', fold: 0, ...BUDGET }),
    (e: Error) => e.name === 'UserError' && /fold\(s\) 1, 2, 3, 4;/.test(e.message) && !/3d_lowres 0/.test(e.message),
  );

  // the other folds' cases through the lowres validation's writer, from lowres logits that are the lowres reference
  // one-hot; the geometry of what it writes is checked against an independent resampling (numpy: linear
  // interpolation at skimage resize's sample points, then argmax) onto the fullres preprocessed grid
  const model = await loadModel(lowresModel(), { folds: [0] });
  const written: { lowres: number[]; lowShape: number[]; shape: number[]; seg: number[] }[] = [];
  try {
    const links = await stageLinks(model, d.preprocessedDatasetDir);
    for (const id of splits.slice(1).flatMap((s) => s.val)) {
      const low = await readPreprocessedCase(path.join(d.preprocessedDatasetDir, 'nnUNetPlans_3d_lowres'), id);
      const lowres = Array.from(low.seg, (v) => Math.max(v, 0));
      const logits = tidy(() => {
        const seg = tensor(Int16Array.from(lowres), low.shape.slice(1), 'int16');
        return cat([0, 1, 2].map((l) => seg.eq(l).float().mul(20).sub(10).unsqueeze(0)), 0);
      });
      await links.writeNextStages(id, logits);
      logits.dispose();
      const seg = (await readNpz(path.join(nextStageDir(), `${id}.npz`))).seg;
      assert.deepEqual(seg.shape, await spatialOf('3d_fullres', id), `${id}: the fullres preprocessed shape`);
      written.push({ lowres, lowShape: low.shape.slice(1), shape: seg.shape, seg: Array.from(seg.data) });
    }
  } finally {
    model.dispose();
  }
  const skip = pythonUnavailable(['numpy', 'scipy.ndimage']);
  if (skip) console.log(`skipping the numpy geometry reference: ${skip}`);
  else {
    const agreement = JSON.parse(
      runPython(
        `
import sys, json, numpy as np
from scipy.ndimage import map_coordinates
out = []
for c in json.loads(sys.stdin.read()):
    low = np.array(c['lowres']).reshape(c['lowShape'])
    grid = np.meshgrid(*[(np.arange(n) + 0.5) * (m / n) - 0.5 for n, m in zip(c['shape'], c['lowShape'])], indexing='ij')
    logits = [map_coordinates(np.where(low == l, 10.0, -10.0), grid, order=1, mode='nearest') for l in range(3)]
    out.append(float(np.mean(np.argmax(logits, 0).ravel() == np.array(c['seg']))))
print(json.dumps(out))
`,
        JSON.stringify(written),
      ),
    ) as number[];
    for (const a of agreement) assert.ok(a > 0.995, `predicted_next_stage agrees with the numpy resampling on ${(a * 100).toFixed(2)}% of the voxels`);
  }

  // the cascade: image + one channel per foreground label into the network
  const r = await train({ preprocessedDatasetDir: d.preprocessedDatasetDir, resultsDatasetDir: d.resultsDatasetDir, configuration: '3d_cascade_fullres', fold: 0, ...BUDGET, echo: () => undefined });
  const ckpt = (await loadPth(path.join(r.outputFolder, 'checkpoint_final.pth'))) as { network_weights: Record<string, Tensor> };
  const firstConv = Object.entries(ckpt.network_weights).find(([k]) => k.endsWith('encoder.stages.0.0.convs.0.conv.weight'));
  assert.ok(firstConv, Object.keys(ckpt.network_weights).slice(0, 5).join(', '));
  assert.equal(firstConv[1].shape[1], 3, '1 image channel + 2 foreground labels');
  dispose(ckpt);
  const summary = await validateFold({ preprocessedDatasetDir: d.preprocessedDatasetDir, resultsDatasetDir: d.resultsDatasetDir, configuration: '3d_cascade_fullres', fold: 0, plansName: 'nnUNetPlans', saveProbabilities: false, device: 'cpu' });
  assert.equal(summary.metric_per_case.length, splits[0].val.length);

  // predict: the lowres model runs first (said on stdout), or its predictions are given; both give the same labels
  const out1 = path.join(d.root, 'pred_auto');
  // no mirroring: 8 times fewer forward passes, and mirroring is not what is tested here
  const common = ['-d', d.datasetName, '-c', '3d_cascade_fullres', '-f', '0', '--results', d.results, '--no-progress', '--disable-tta'];
  const auto = await runCli(['predict', '-i', d.testImagesDir, '-o', out1, ...common]);
  assert.equal(auto.code, 0, outputOf(auto));
  assert.match(auto.stdout, /cascade: ran the 3d_lowres model .*__3d_lowres first; its predictions are in .*prev_stage_3d_lowres/, outputOf(auto));
  const input = await readNifti(path.join(d.testImagesDir, 'synth_006_0000.nii.gz'));
  const pred1 = await readNifti(path.join(out1, 'synth_006.nii.gz'));
  assert.deepEqual(pred1.shape, input.shape);
  assert.deepEqual(pred1.affine, input.affine);
  assert.ok(existsSync(path.join(out1, 'prev_stage_3d_lowres', 'synth_006.nii.gz')));

  const out2 = path.join(d.root, 'pred_given');
  const given = await runCli(['predict', '-i', d.testImagesDir, '-o', out2, ...common, '-prev_stage_predictions', path.join(out1, 'prev_stage_3d_lowres')]);
  assert.equal(given.code, 0, outputOf(given));
  assert.match(given.stdout, /cascade: used the 3d_lowres predictions in .*prev_stage_3d_lowres \(-prev_stage_predictions\)/, outputOf(given));
  assert.deepEqual((await readNifti(path.join(out2, 'synth_006.nii.gz'))).data, pred1.data);

  // the library entry takes the lowres segmentation of the case, and asks for it
  const cascadeModel = path.dirname(r.outputFolder);
  const prefix = path.join(d.testImagesDir, 'synth_006');
  await assert.rejects(predict(prefix, cascadeModel, { folds: [0] }), (e: Error) => e.name === 'UserError' && /pass the case's 3d_lowres segmentation as previousStage/.test(e.message));
  const lib = await predict(prefix, cascadeModel, { folds: [0], useMirroring: false, previousStage: path.join(out1, 'prev_stage_3d_lowres', 'synth_006.nii.gz') });
  assert.deepEqual(Array.from(lib.labels), Array.from(pred1.data as Uint8Array));

  // refusals: a folder without the case, and no lowres model to run
  const empty = path.join(d.root, 'empty');
  mkdirSync(empty);
  const missing = await runCli(['predict', '-i', d.testImagesDir, '-o', path.join(d.root, 'pred_x'), ...common, '--prev-stage-predictions', empty]);
  assert.equal(missing.code, 1, outputOf(missing));
  assert.ok(missing.stderr.includes(`no 3d_lowres prediction <case>.nii.gz for 1 of 1 input case(s) (synth_006); make them with \`nnunet predict -i ${d.testImagesDir} -o ${empty} -d ${d.datasetName} -c 3d_lowres\``), outputOf(missing));
  renameSync(lowresModel(), `${lowresModel()}.away`);
  try {
    const none = await runCli(['predict', '-i', d.testImagesDir, '-o', path.join(d.root, 'pred_y'), ...common]);
    assert.equal(none.code, 1, outputOf(none));
    assert.match(none.stderr, /Give them with -prev_stage_predictions DIR/, outputOf(none));
    assert.ok(none.stderr.includes(`nnunet train ${d.datasetName} 3d_lowres 0`), outputOf(none));
  } finally {
    renameSync(`${lowresModel()}.away`, lowresModel());
  }
});

test('batches of a cascade stage: image + one-hot of the previous stage, aligned with the target in validation batches', async () => {
  // previous-stage segmentations equal to the fullres references, so that the one-hot channels must equal the target
  const prevDir = path.join(d.root, 'prev_is_reference');
  mkdirSync(prevDir);
  const dataDir = path.join(d.preprocessedDatasetDir, 'nnUNetPlans_3d_fullres');
  const ids = splits[0].train;
  for (const id of ids) {
    const c = await readPreprocessedCase(dataDir, id);
    await writeNextStageSegmentation(prevDir, id, Uint8Array.from(c.seg, (v) => Math.max(v, 0)), c.shape.slice(1));
  }
  const patchSize = [12, 12, 12];
  const augmentation = { patchSize, rotation: [-0.5, 0.5] as [number, number], doDummy2D: false, mirrorAxes: [0, 1, 2], deepSupervisionScales: null, useMaskForNorm: [false], previousStageLabels: [1, 2] };
  const config = { preprocessedDir: dataDir, caseIds: ids, batchSize: 2, patchSize, oversampleForeground: 0.33, seed: 3, augmentation, previousStageDir: prevDir };
  const val = new BatchSource({ ...config, stream: 'val' });
  const train = new BatchSource({ ...config, stream: 'train' });
  try {
    for (let k = 0; k < 3; k++) {
      const b = await val.makeBatch(k);
      assert.deepEqual(b.dataShape, [2, 3, ...patchSize]);
      const n = patchSize.reduce((a, x) => a * x, 1);
      for (let s = 0; s < 2; s++) {
        for (const [channel, label] of [[1, 1], [2, 2]]) {
          const oneHot = b.data.subarray((s * 3 + channel) * n, (s * 3 + channel + 1) * n);
          const target = b.targets[0].subarray(s * n, (s + 1) * n);
          assert.ok(oneHot.every((v, i) => v === (target[i] === label ? 1 : 0)), `batch ${k} sample ${s} label ${label}`);
        }
      }
      const t = await train.makeBatch(k);
      assert.deepEqual(t.dataShape, [2, 3, ...patchSize]);
      assert.deepEqual(t.targetShapes[0], [2, 1, ...patchSize]);
    }
  } finally {
    val.dispose();
    train.dispose();
  }
});

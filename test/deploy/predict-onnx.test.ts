// `predict --backend onnx` against the libtorch predictor on the same checkpoints (two folds, averaged): the export
// folder alone (model.onnx + model.json) must reproduce the probabilities within 1e-3 and the labels on >= 99.99% of
// voxels, in the input's geometry; plus the export layouts and their errors.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type TestContext, after, before, test } from 'node:test';
import { exportOnnx } from '../../src/deploy/export-onnx.js';
import { predictOnnxCases } from '../../src/deploy/predict-onnx.js';
import { UserError } from '../../src/errors.js';
import { predictCases } from '../../src/inference/predictor.js';
import { readNifti } from '../../src/io/nifti.js';
import { readNpz } from '../../src/io/npz.js';
import { registerNetwork } from '../../src/model/network-registry.js';
import { architectureFromPlans } from '../../src/network/architecture.js';
import { PlainConvUNet } from '../../src/network/plain-conv-unet.js';
import { parseModelJson } from '../../src/portable/model-json.js';
import { tinyPlans, writeCase, writeTinyModel } from '../inference/model-fixture.js';
import { outputOf, runCli } from '../cli/cli-process.js';
import { tinyPlans2d, writeModel } from './fixtures.js';

let root: string;
let modelDir: string;
let inputDir: string;

before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'nnunet-onnx-'));
  modelDir = path.join(root, 'Dataset999_Tiny', 'nnUNetTrainer__nnUNetPlans__3d_fullres');
  inputDir = path.join(root, 'input');
  await writeTinyModel(modelDir, [0, 1]);
  // one case cropped to a box (so export uncrops), one larger than a patch on every axis (several tiles)
  await writeCase(inputDir, 'boxed', [14, 20, 17], [[2, 12], [3, 18], [1, 15]], 1);
  await writeCase(inputDir, 'full', [9, 26, 21], null, 2);
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Labels (>= 99.99% of voxels, same geometry), probabilities (1e-3) and properties of both backends' outputs agree. */
async function assertSamePredictions(t: TestContext, torchOut: string, onnxOut: string, ids: string[]): Promise<void> {
  for (const id of ids) {
    const [a, b] = await Promise.all([readNifti(path.join(torchOut, `${id}.nii.gz`)), readNifti(path.join(onnxOut, `${id}.nii.gz`))]);
    assert.deepEqual(b.shape, a.shape);
    assert.deepEqual(b.affine, a.affine);
    assert.equal(b.header.datatype, a.header.datatype);
    let same = 0;
    for (let i = 0; i < a.data.length; i++) if (a.data[i] === b.data[i]) same++;
    assert.ok(same / a.data.length >= 0.9999, `${id}: labels agree on ${same}/${a.data.length} voxels`);
    assert.ok(new Set(a.data).size > 1, `${id}: the reference segmentation is not constant`);
    const [pa, pb] = [(await readNpz(path.join(torchOut, `${id}.npz`))).probabilities, (await readNpz(path.join(onnxOut, `${id}.npz`))).probabilities];
    assert.deepEqual(pb.shape, pa.shape);
    let maxDiff = 0;
    for (let i = 0; i < pa.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(Number(pa.data[i]) - Number(pb.data[i])));
    assert.ok(maxDiff <= 1e-3, `${id}: max |p_onnx - p_torch| = ${maxDiff}`);
    t.diagnostic(`${id}: labels agree on ${same}/${a.data.length} voxels, max |p_onnx - p_torch| = ${maxDiff.toExponential(2)}`);
    const [ja, jb] = await Promise.all([readFile(path.join(torchOut, `${id}.json`), 'utf8'), readFile(path.join(onnxOut, `${id}.json`), 'utf8')]);
    const [propsA, propsB] = [JSON.parse(ja), JSON.parse(jb)];
    for (const key of ['spacing', 'shape_before_cropping', 'bbox_used_for_cropping', 'shape_after_cropping_and_before_resampling']) assert.deepEqual(propsB[key], propsA[key], key);
  }
}

test('predict --backend onnx on a two-fold export matches libtorch predict (probabilities 1e-3, labels 99.99%)', async (t) => {
  const exportDir = path.join(root, 'export2');
  const written = await exportOnnx({ modelFolder: modelDir, outputFolder: exportDir });
  assert.deepEqual(written, [path.join(exportDir, 'fold_0'), path.join(exportDir, 'fold_1')]);
  const torchOut = path.join(root, 'pred-torch');
  const onnxOut = path.join(root, 'pred-onnx');
  await predictCases({ inputFolder: inputDir, outputFolder: torchOut, modelFolder: modelDir, saveProbabilities: true, backgroundExport: false });
  const r = await predictOnnxCases({ inputFolder: inputDir, outputFolder: onnxOut, exportFolder: exportDir, saveProbabilities: true });
  assert.deepEqual(r.predicted, ['boxed', 'full']);
  await assertSamePredictions(t, torchOut, onnxOut, ['boxed', 'full']);
  const datasetJson = async (dir: string) => JSON.parse(await readFile(path.join(dir, 'dataset.json'), 'utf8'));
  assert.deepEqual(await datasetJson(onnxOut), await datasetJson(torchOut));
});

test('a 2d ResidualEncoderUNet (slice by slice) through the onnx backend matches libtorch predict', async (t) => {
  const dir = path.join(root, 'Dataset999_Tiny', 'nnUNetTrainer__nnUNetPlans__2d');
  await writeModel(dir, tinyPlans2d(), '2d', [0]);
  const exportDir = path.join(root, 'export-2d');
  await exportOnnx({ modelFolder: dir, outputFolder: exportDir });
  const [torchOut, onnxOut] = [path.join(root, 'pred-torch-2d'), path.join(root, 'pred-onnx-2d')];
  await predictCases({ inputFolder: inputDir, outputFolder: torchOut, modelFolder: dir, saveProbabilities: true, backgroundExport: false });
  await predictOnnxCases({ inputFolder: inputDir, outputFolder: onnxOut, exportFolder: exportDir, saveProbabilities: true });
  await assertSamePredictions(t, torchOut, onnxOut, ['boxed', 'full']);
});

test('one fold exports to DIR/model.{onnx,json}; model.json carries what prediction needs', async () => {
  const exportDir = path.join(root, 'export1');
  const r = await runCli(['export-onnx', '-m', modelDir, '-f', '1', '-chk', 'checkpoint_final.pth', '-o', exportDir]);
  assert.equal(r.code, 0, outputOf(r));
  assert.deepEqual((await readdir(exportDir)).sort(), ['model.json', 'model.onnx']);
  const json = parseModelJson(JSON.parse(await readFile(path.join(exportDir, 'model.json'), 'utf8')), 'model.json');
  const plans = tinyPlans();
  assert.equal(json.fold, 1);
  assert.deepEqual(json.transpose_forward, plans.transpose_forward);
  assert.deepEqual(json.configuration.patch_size, [16, 16, 16]);
  assert.deepEqual(json.mirror_axes, [0, 1, 2]);
  assert.deepEqual(json.network.total_stride, [4, 4, 4]);
  assert.deepEqual(json.dataset.labels, { background: 0, anterior: 1, posterior: 2 });
  const out = path.join(root, 'pred-onnx-1');
  const p = await runCli(['predict', '--backend', 'onnx', '-m', exportDir, '-i', inputDir, '-o', out, '--disable-tta']);
  assert.equal(p.code, 0, outputOf(p));
  assert.deepEqual((await readdir(out)).filter((f) => f.endsWith('.nii.gz')).sort(), ['boxed.nii.gz', 'full.nii.gz']);
});

test('an export folder without model.json is refused with one clear error', async () => {
  const empty = path.join(root, 'no-export');
  await mkdir(path.join(empty, 'fold_0'), { recursive: true });
  await assert.rejects(predictOnnxCases({ inputFolder: inputDir, outputFolder: path.join(root, 'x'), exportFolder: empty }), (err: unknown) => err instanceof UserError && /no model\.json/.test(err.message));
  // the CLI: one line naming the folder, no stack trace; a results folder given as -m gets the same answer
  for (const dir of [empty, modelDir]) {
    const r = await runCli(['predict', '--backend', 'onnx', '-m', dir, '-i', inputDir, '-o', path.join(root, 'y')]);
    assert.equal(r.code, 1, outputOf(r));
    assert.match(r.stderr, new RegExp(`${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: no model\\.json .*nnunet export-onnx`));
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});

test('a network without an ONNX graph is refused with one clear error', async () => {
  registerNetwork({ className: 'UntranslatableUNet', segmentationHeadPrefix: 'decoder.seg_layers.', build: (arch, c, k) => new PlainConvUNet(architectureFromPlans({ ...arch, n_conv_per_stage: arch.n_conv_per_stage ?? [] } as never, c, k)) });
  const plans = tinyPlans();
  const config = plans.configurations['3d_fullres'];
  config.architecture = { ...config.architecture!, network_class_name: 'my.networks.UntranslatableUNet' };
  const dir = path.join(root, 'untranslatable');
  await writeTinyModel(dir, [0], plans);
  await assert.rejects(exportOnnx({ modelFolder: dir, outputFolder: path.join(root, 'export-x') }), (err: unknown) => err instanceof UserError && /'my\.networks\.UntranslatableUNet' cannot be exported to ONNX \(exportable: PlainConvUNet, ResidualEncoderUNet\)/.test(err.message));
});

// The whole nnU-Net pipeline through the CLI, each step a child process as a user runs it, on a tiny generated
// dataset: plan-and-preprocess → train → predict → evaluate.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { generateSyntheticDataset } from '../../src/cli/demo/synthetic-dataset.js';
import { type CliResult, outputOf, runCli } from './cli-process.js';

const PYTHON = '/usr/bin/python3';
const root = mkdtempSync(path.join(tmpdir(), 'nnunet-cli-pipeline-'));
after(() => rmSync(root, { recursive: true, force: true }));

const dirs = { raw: path.join(root, 'raw'), preprocessed: path.join(root, 'preprocessed'), results: path.join(root, 'results') };

async function step(args: string[]): Promise<CliResult> {
  const r = await runCli(args, { timeoutMs: 120_000 });
  assert.equal(r.code, 0, `nnunet ${args.join(' ')}: ${outputOf(r)}`);
  return r;
}

/** Why nibabel cannot be used, or null. */
function nibabelUnavailable(): string | null {
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  const r = spawnSync(PYTHON, ['-c', 'import nibabel, numpy'], { encoding: 'utf8' });
  return r.status === 0 ? null : `${PYTHON} lacks nibabel/numpy: ${r.stderr.trim().split('\n').pop()}`;
}

test('plan-and-preprocess, train, predict and evaluate a tiny dataset through the CLI', { timeout: 240_000 }, async (t) => {
  const ds = await generateSyntheticDataset({ rawDir: dirs.raw, datasetId: 42, shape: [12, 24, 24], numTraining: 10, numTest: 2, seed: 7 });
  const folders = ['--raw', dirs.raw, '--preprocessed', dirs.preprocessed, '--no-progress'];

  const pp = await step(['plan-and-preprocess', '-d', '42', '-c', '3d_fullres', '--verify-dataset-integrity', '--num-processes', '2', ...folders]);
  assert.match(pp.stdout, /Dataset042_Synthetic: planned .*3d_fullres.*; preprocessed 3d_fullres/);
  const plans = JSON.parse(readFileSync(path.join(dirs.preprocessed, ds.datasetName, 'nnUNetPlans.json'), 'utf8')) as { configurations: Record<string, unknown> };
  assert.ok('3d_fullres' in plans.configurations);

  const tr = await step(['train', '42', '3d_fullres', '0', '--num-epochs', '2', '--iterations-per-epoch', '3', '--val-iterations', '2', ...folders, '--results', dirs.results]);
  const last = tr.stdout.trimEnd().split('\n').pop() as string;
  assert.match(last, /^Dataset042_Synthetic 3d_fullres fold 0: 2 epoch\(s\), best EMA pseudo Dice \d\.\d{4} at epoch \d, validation mean foreground Dice \d\.\d{4} \(2 cases\); \d+ s; /, last);
  const fold0 = path.join(dirs.results, ds.datasetName, 'nnUNetTrainer__nnUNetPlans__3d_fullres', 'fold_0');
  for (const f of ['checkpoint_final.pth', 'checkpoint_best.pth', 'validation/summary.json']) assert.ok(existsSync(path.join(fold0, f)), `${f} written`);

  // -chk: nnU-Net's spelling of --checkpoint
  const predictions = path.join(root, 'predictions');
  const pr = await step(['predict', '-i', ds.testImagesDir, '-o', predictions, '-d', '42', '-c', '3d_fullres', '-chk', 'checkpoint_final.pth', '--results', dirs.results, '--no-progress']);
  assert.match(pr.stdout, /predicted 2 case\(s\)/);
  // besides the label maps, nnU-Net's dataset.json and plans.json copies
  assert.deepEqual(readdirSync(predictions).filter((f) => f.endsWith('.nii.gz')).sort(), ['synth_011.nii.gz', 'synth_012.nii.gz']);

  // -djfile: nnU-Net's spelling of --dataset-json
  const ev = await step(['evaluate', ds.testLabelsDir, predictions, '-djfile', path.join(ds.datasetDir, 'dataset.json'), '--per-case']);
  const table = ev.stdout.split('\n');
  assert.match(table[0], /^case\s+1 \(structure\)\s+2 \(appendix\)$/);
  assert.match(table[1], /^synth_011\s+\d\.\d{4}\s+\d\.\d{4}$/);
  assert.match(table[3], /^mean \(2 cases\)\s+\d\.\d{4}\s+\d\.\d{4}$/);
  assert.match(table[4], /^foreground mean Dice: \d\.\d{4}$/);

  const summary = JSON.parse(readFileSync(path.join(predictions, 'summary.json'), 'utf8')) as {
    foreground_mean: Record<string, number>;
    mean: Record<string, Record<string, number>>;
    metric_per_case: { metrics: Record<string, Record<string, number>>; prediction_file: string; reference_file: string }[];
  };
  const metricKeys = ['Dice', 'FN', 'FP', 'IoU', 'TN', 'TP', 'n_pred', 'n_ref'];
  assert.deepEqual(Object.keys(summary).sort(), ['foreground_mean', 'mean', 'metric_per_case']);
  assert.deepEqual(Object.keys(summary.mean), ['1', '2']);
  assert.deepEqual(Object.keys(summary.foreground_mean).sort(), metricKeys);
  assert.equal(summary.metric_per_case.length, 2);
  for (const c of summary.metric_per_case) {
    assert.deepEqual(Object.keys(c).sort(), ['metrics', 'prediction_file', 'reference_file']);
    assert.deepEqual(Object.keys(c.metrics['1']).sort(), metricKeys);
    // every voxel is counted once per class
    assert.equal(c.metrics['1'].TP + c.metrics['1'].FP + c.metrics['1'].FN + c.metrics['1'].TN, 12 * 24 * 24);
  }
  // the printed foreground mean is summary.json's
  assert.ok(ev.stdout.includes(`foreground mean Dice: ${summary.foreground_mean.Dice.toFixed(4)}`));

  const why = nibabelUnavailable();
  if (why) {
    t.diagnostic(`skipping the nibabel check: ${why}`);
    console.log(`skipping the nibabel check: ${why}`);
    return;
  }
  const script = `
import json, sys, nibabel, numpy as np
out = []
for img, pred in zip(sys.argv[1::2], sys.argv[2::2]):
    a, b = nibabel.load(img), nibabel.load(pred)
    data = np.asanyarray(b.dataobj)
    out.append({"same_affine": bool(np.allclose(a.affine, b.affine, atol=1e-4)), "shape": list(b.shape), "img_shape": list(a.shape),
                "values": sorted(int(v) for v in np.unique(data)), "integer": bool(np.issubdtype(data.dtype, np.integer))})
print(json.dumps(out))`;
  const files = ['synth_011', 'synth_012'].flatMap((c) => [path.join(ds.testImagesDir, `${c}_0000.nii.gz`), path.join(predictions, `${c}.nii.gz`)]);
  const py = spawnSync(PYTHON, ['-c', script, ...files], { encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
  for (const r of JSON.parse(py.stdout) as { same_affine: boolean; shape: number[]; img_shape: number[]; values: number[]; integer: boolean }[]) {
    assert.ok(r.same_affine, 'prediction has the input affine');
    assert.deepEqual(r.shape, r.img_shape);
    assert.deepEqual(r.shape, [24, 24, 12], 'nibabel order (x, y, z) of the [z, y, x] = [12, 24, 24] array');
    assert.ok(r.integer, 'integer label map');
    assert.ok(r.values.every((v) => [0, 1, 2].includes(v)), `labels ${r.values}`);
  }
});

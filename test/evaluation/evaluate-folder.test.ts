import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { evaluateFolder } from '../../src/evaluation/evaluate-folder.js';
import { readSummaryJson } from '../../src/evaluation/summary.js';
import { readNifti, writeNifti } from '../../src/io/nifti.js';
import { pythonUnavailable, runPython } from './python-ref.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const dataset = resolve(repoRoot, '../shared/data/Dataset004_Hippocampus');
const CASES = ['hippocampus_001', 'hippocampus_003', 'hippocampus_004'];
const missingData = existsSync(join(dataset, 'labelsTr')) ? null : `${dataset} not found`;

let root = '';
let refDir = '';
let predDir = '';

before(async () => {
  if (missingData) return;
  root = await mkdtemp(join(tmpdir(), 'evalfolder-'));
  refDir = join(root, 'ref');
  predDir = join(root, 'pred');
  await mkdir(refDir);
  await mkdir(predDir);
  for (const c of CASES) await copyFile(join(dataset, 'labelsTr', `${c}.nii.gz`), join(refDir, `${c}.nii.gz`));
  // 001: perfect prediction
  await copyFile(join(refDir, `${CASES[0]}.nii.gz`), join(predDir, `${CASES[0]}.nii.gz`));
  // 003: label 2 predicted as 1 (label 2 Dice 0, label 1 gets false positives)
  const b = await readNifti(join(refDir, `${CASES[1]}.nii.gz`));
  const bPred = b.data.map((v) => (v === 2 ? 1 : v));
  await writeNifti(join(predDir, `${CASES[1]}.nii.gz`), bPred, b.shape, b.header);
  // 004: shifted by 3 voxels along the flat array (partial overlap of both labels)
  const c = await readNifti(join(refDir, `${CASES[2]}.nii.gz`));
  const cPred = c.data.slice();
  cPred.copyWithin(3, 0, cPred.length - 3);
  await writeNifti(join(predDir, `${CASES[2]}.nii.gz`), cPred, c.shape, c.header);
});

after(async () => {
  if (root) await rm(root, { recursive: true });
});

/** nnU-Net's metrics per case (numpy on nibabel-loaded files), nanmean per class, mean over foreground classes. */
function pythonSummary(labels: number[], ignoreLabel: number | null): { perCase: Record<string, number>[]; mean: Record<string, number>; fg: number } {
  const code = `
import json, sys, numpy as np, nibabel as nib
ref_dir, pred_dir, cases, labels, ignore = json.load(sys.stdin)
per_case = []
for c in cases:
    r = np.asarray(nib.load(f"{ref_dir}/{c}.nii.gz").dataobj); p = np.asarray(nib.load(f"{pred_dir}/{c}.nii.gz").dataobj)
    use = np.ones_like(r, dtype=bool) if ignore is None else r != ignore
    d = {}
    for l in labels:
        mr, mp = r == l, p == l
        tp = np.sum(mr & mp & use); fp = np.sum(~mr & mp & use); fn = np.sum(mr & ~mp & use)
        d[str(l)] = float(2 * tp / (2 * tp + fp + fn)) if tp + fp + fn > 0 else None
    per_case.append(d)
mean = {str(l): float(np.nanmean([np.nan if d[str(l)] is None else d[str(l)] for d in per_case])) for l in labels}
print(json.dumps(dict(perCase=per_case, mean=mean, fg=float(np.mean([mean[str(l)] for l in labels if l != 0])))))
`;
  return JSON.parse(runPython(code, JSON.stringify([refDir, predDir, CASES, labels, ignoreLabel])));
}

function close(a: number, b: number, what: string) {
  assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} vs ${b}`);
}

test('evaluateFolder on real Hippocampus labels matches a numpy/nibabel reference', async (t) => {
  if (missingData) return t.skip(missingData);
  const reason = pythonUnavailable(['numpy', 'nibabel']);
  const summary = await evaluateFolder(refDir, predDir, { labels: [1, 2], numWorkers: 2 });
  assert.deepEqual(summary.metric_per_case.map((c) => c.prediction_file), CASES.map((c) => join(predDir, `${c}.nii.gz`)));
  assert.equal(summary.metric_per_case[0].metrics['1'].Dice, 1);
  assert.equal(summary.metric_per_case[1].metrics['2'].Dice, 0);
  assert.equal(summary.metric_per_case[1].metrics['2'].n_pred, 0);
  const written = await readSummaryJson(join(predDir, 'summary.json'));
  assert.deepEqual(written.foreground_mean, summary.foreground_mean);
  if (reason) return t.skip(`python cross-check: ${reason}`);
  const py = pythonSummary([1, 2], null);
  py.perCase.forEach((d, i) => {
    for (const k of ['1', '2']) close(summary.metric_per_case[i].metrics[k].Dice, d[k], `${CASES[i]} label ${k}`);
  });
  close(summary.mean['1'].Dice, py.mean['1'], 'mean 1');
  close(summary.mean['2'].Dice, py.mean['2'], 'mean 2');
  close(summary.foreground_mean.Dice, py.fg, 'foreground mean');
});

test('ignore label on real data matches the reference', async (t) => {
  if (missingData) return t.skip(missingData);
  const reason = pythonUnavailable(['numpy', 'nibabel']);
  if (reason) return t.skip(reason);
  const outputFile = join(root, 'ignore-summary.json');
  const summary = await evaluateFolder(refDir, predDir, { labels: [1], ignoreLabel: 2, outputFile });
  const py = pythonSummary([1], 2);
  py.perCase.forEach((d, i) => close(summary.metric_per_case[i].metrics['1'].Dice, d['1'], `${CASES[i]}`));
  // case 003 predicted every label-2 voxel as 1; ignoring label 2 removes all those false positives
  assert.equal(summary.metric_per_case[1].metrics['1'].Dice, 1);
  assert.ok(existsSync(outputFile));
});

test('a reference without prediction is a UserError naming it, unless chill', async (t) => {
  if (missingData) return t.skip(missingData);
  await copyFile(join(dataset, 'labelsTr', 'hippocampus_006.nii.gz'), join(refDir, 'hippocampus_006.nii.gz'));
  try {
    await assert.rejects(
      evaluateFolder(refDir, predDir, { labels: [1, 2], outputFile: null }),
      (e: Error) => e.name === 'UserError' && e.message.includes('hippocampus_006.nii.gz'),
    );
    const s = await evaluateFolder(refDir, predDir, { labels: [1, 2], outputFile: null, chill: true });
    assert.equal(s.metric_per_case.length, 3);
  } finally {
    await rm(join(refDir, 'hippocampus_006.nii.gz'));
  }
});

test('a prediction without reference, a shape mismatch and bad options are UserErrors', async (t) => {
  if (missingData) return t.skip(missingData);
  const extraDir = join(root, 'extra');
  await mkdir(extraDir);
  await copyFile(join(dataset, 'labelsTr', 'hippocampus_006.nii.gz'), join(extraDir, 'hippocampus_006.nii.gz'));
  await assert.rejects(
    evaluateFolder(refDir, extraDir, { labels: [1], outputFile: null }),
    (e: Error) => e.name === 'UserError' && e.message.includes('hippocampus_006.nii.gz'),
  );
  // wrong shape: another case's labels under this case's name
  const shapeDir = join(root, 'shape');
  await mkdir(shapeDir);
  await copyFile(join(dataset, 'labelsTr', 'hippocampus_006.nii.gz'), join(shapeDir, `${CASES[0]}.nii.gz`));
  await assert.rejects(
    evaluateFolder(refDir, shapeDir, { labels: [1], outputFile: null, chill: true }),
    (e: Error) => e.name === 'UserError' && /has shape .* but its reference/.test(e.message),
  );
  await assert.rejects(evaluateFolder(refDir, predDir, { labels: [] }), (e: Error) => e.name === 'UserError');
});

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { formatDiceTable } from '../../src/evaluation/dice-table.js';
import type { ClassMetrics } from '../../src/evaluation/metrics.js';
import { parsePythonJson, stringifyPythonJson } from '../../src/evaluation/python-json.js';
import { readSummaryJson, summarize, writeSummaryJson, type CaseResult } from '../../src/evaluation/summary.js';
import { pythonUnavailable, runPython } from './python-ref.js';

function cm(Dice: number, TP: number, FP: number, FN: number, TN: number): ClassMetrics {
  return { Dice, FN, FP, IoU: Dice / (2 - Dice), TN, TP, n_pred: TP + FP, n_ref: TP + FN };
}

// case a: label 2 empty in reference and prediction (NaN); case b: both labels present
const CASES: CaseResult[] = [
  { metrics: { '0': cm(0.9, 90, 10, 10, 0), '1': cm(0.5, 1, 1, 1, 97), '2': cm(NaN, 0, 0, 0, 100) }, prediction_file: '/p/a.nii.gz', reference_file: '/r/a.nii.gz' },
  { metrics: { '0': cm(0.7, 70, 30, 30, 0), '1': cm(1, 4, 0, 0, 96), '2': cm(0.8, 4, 1, 1, 94) }, prediction_file: '/p/b.nii.gz', reference_file: '/r/b.nii.gz' },
];

test('mean = nanmean over cases per class; foreground_mean = mean over classes without label 0', () => {
  const s = summarize(CASES);
  assert.equal(s.mean['1'].Dice, 0.75);
  assert.equal(s.mean['2'].Dice, 0.8); // NaN case skipped
  assert.equal(s.mean['2'].TP, 2); // counts are averaged too, NaN-free here
  assert.ok(Math.abs(s.mean['0'].Dice - 0.8) < 1e-12);
  assert.ok(Math.abs(s.foreground_mean.Dice - 0.775) < 1e-12);
  assert.equal(s.foreground_mean.TN, (97 + 96) / 2 / 2 + (100 + 94) / 2 / 2);
  assert.equal(s.metric_per_case.length, 2);
});

test('a class NaN in every case makes its mean NaN and the foreground mean NaN (np.mean, not nanmean)', () => {
  const allNaN = CASES.map((c) => ({ ...c, metrics: { ...c.metrics, '2': cm(NaN, 0, 0, 0, 100) } }));
  const s = summarize(allNaN);
  assert.ok(Number.isNaN(s.mean['2'].Dice));
  assert.ok(Number.isNaN(s.foreground_mean.Dice));
  assert.equal(s.mean['1'].Dice, 0.75);
});

test('summarize refuses no cases and mismatched classes', () => {
  assert.throws(() => summarize([]), /no cases/);
  assert.throws(() => summarize([CASES[0], { ...CASES[1], metrics: { '1': CASES[1].metrics['1'] } }]), /b\.nii\.gz/);
});

test('summary.json: NaN token, sorted keys, indent 4; round trip through our reader', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'summary-'));
  try {
    const file = join(dir, 'summary.json');
    const s = summarize(CASES);
    await writeSummaryJson(s, file);
    const text = await readFile(file, 'utf8');
    assert.match(text, /^\{\n    "foreground_mean": \{\n        "Dice": 0\.775/);
    assert.match(text, /"Dice": NaN,/);
    assert.ok(text.indexOf('"foreground_mean"') < text.indexOf('"mean"') && text.indexOf('"mean"') < text.indexOf('"metric_per_case"'));
    const back = await readSummaryJson(file);
    assert.ok(Number.isNaN(back.metric_per_case[0].metrics['2'].Dice));
    assert.deepEqual(back.mean, s.mean);
  } finally {
    await rm(dir, { recursive: true });
  }
});

test("python's json module reads our summary.json to the same values", async (t) => {
  const reason = pythonUnavailable(['json', 'math']);
  if (reason) return t.skip(reason);
  const text = stringifyPythonJson(summarize(CASES));
  // python re-serializes with nnU-Net's own settings; identical text means identical values and layout
  const py = runPython('import json, sys; print(json.dumps(json.load(sys.stdin), indent=4, sort_keys=True), end="")', text);
  assert.deepEqual(parsePythonJson(py), parsePythonJson(text));
  const dice = runPython(
    'import json, sys, math; d = json.load(sys.stdin); print(math.isnan(d["metric_per_case"][0]["metrics"]["2"]["Dice"]), d["mean"]["1"]["Dice"])',
    text,
  );
  assert.equal(dice.trim(), 'True 0.75');
});

test('parsePythonJson leaves NaN inside strings alone and handles -Infinity', () => {
  const v = parsePythonJson('{"a": "NaN \\" Infinity", "b": [NaN, -Infinity, Infinity, 1e-5]}') as { a: string; b: number[] };
  assert.equal(v.a, 'NaN " Infinity');
  assert.ok(Number.isNaN(v.b[0]));
  assert.deepEqual(v.b.slice(1), [-Infinity, Infinity, 1e-5]);
  assert.equal(stringifyPythonJson({ x: [], y: {}, z: [NaN] }), '{\n    "x": [],\n    "y": {},\n    "z": [\n        NaN\n    ]\n}');
});

test('readSummaryJson names the file when it is not a summary', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'summary-'));
  try {
    const file = join(dir, 'bad.json');
    await writeSummaryJson({ ...summarize(CASES), mean: 3 } as never, file);
    await assert.rejects(readSummaryJson(file), (e: Error) => e.name === 'UserError' && e.message.includes(file));
  } finally {
    await rm(dir, { recursive: true });
  }
});

test('Dice table: per class columns, optional per-case rows, foreground mean, nan', () => {
  const table = formatDiceTable(summarize(CASES), { classNames: { '1': 'Anterior' }, perCase: true, fileEnding: '.nii.gz' });
  assert.equal(
    table,
    [
      'case                 0  1 (Anterior)       2',
      'a               0.9000        0.5000     nan',
      'b               0.7000        1.0000  0.8000',
      'mean (2 cases)  0.8000        0.7500  0.8000',
      'foreground mean Dice: 0.7750',
    ].join('\n'),
  );
});

// The CLI's Dice report names each column by its dataset.json name, regions under their summary key.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diceReport } from '../../src/cli/evaluate-dataset.js';
import type { ClassMetrics } from '../../src/evaluation/metrics.js';
import { summarize } from '../../src/evaluation/summary.js';
import type { DatasetJson } from '../../src/planning/dataset-json.js';

const cm = (Dice: number): ClassMetrics => ({ Dice, IoU: Dice, FN: 0, FP: 0, TP: 1, TN: 1, n_pred: 1, n_ref: 1 });

test('region columns are named "(1, 2, 3) (whole tumor)", single-label regions "(3,) (enhancing tumor)"', () => {
  const summary = summarize([{ metrics: { '(1, 2, 3)': cm(0.9), '(2, 3)': cm(0.8), '(3,)': cm(0.7) }, prediction_file: '/p/a.nii.gz', reference_file: '/r/a.nii.gz' }]);
  const json = { channel_names: { '0': 'T1' }, labels: { background: 0, 'whole tumor': [1, 2, 3], 'tumor core': [2, 3], 'enhancing tumor': [3] }, regions_class_order: [1, 2, 3], numTraining: 1, file_ending: '.nii.gz' } as DatasetJson;
  const header = diceReport(summary, json, false).split('\n')[0];
  assert.equal(header.replace(/ +/g, ' '), 'case (1, 2, 3) (whole tumor) (2, 3) (tumor core) (3,) (enhancing tumor)');
});

test('label columns keep their names', () => {
  const summary = summarize([{ metrics: { '1': cm(0.9), '2': cm(0.8) }, prediction_file: '/p/a.nii.gz', reference_file: '/r/a.nii.gz' }]);
  const json = { channel_names: { '0': 'MRI' }, labels: { background: 0, anterior: 1, posterior: 2 }, numTraining: 1, file_ending: '.nii.gz' } as DatasetJson;
  assert.equal(diceReport(summary, json, false).split('\n')[0].replace(/ +/g, ' '), 'case 1 (anterior) 2 (posterior)');
});

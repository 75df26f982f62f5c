import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classMetrics, computeCaseMetrics, confusionMatrix, labelOrRegionKey } from '../../src/evaluation/metrics.js';
import { pythonUnavailable, runPython } from './python-ref.js';

// voxel:  0  1  2  3  4  5  6  7
const REF = [0, 1, 1, 2, 2, 0, 1, 3];
const PRED = [0, 1, 2, 2, 0, 1, 1, 3];

test('hand-computed TP/FP/FN/TN, Dice, IoU per label with the ignore label excluded', () => {
  const m = computeCaseMetrics(Uint8Array.from(REF), Uint8Array.from(PRED), [1, 2, [1, 2]], 3);
  // label 1: ref {1,2,6}, pred {1,5,6}; voxel 7 (ref = 3) ignored, 7 voxels remain
  assert.deepEqual(m['1'], { Dice: 4 / 6, FN: 1, FP: 1, IoU: 0.5, TN: 3, TP: 2, n_pred: 3, n_ref: 3 });
  // label 2: ref {3,4}, pred {2,3}
  assert.deepEqual(m['2'], { Dice: 0.5, FN: 1, FP: 1, IoU: 1 / 3, TN: 4, TP: 1, n_pred: 2, n_ref: 2 });
  // region (1, 2): ref {1,2,3,4,6}, pred {1,2,3,5,6}
  assert.deepEqual(m['(1, 2)'], { Dice: 0.8, FN: 1, FP: 1, IoU: 4 / 6, TN: 1, TP: 4, n_pred: 5, n_ref: 5 });
});

test('without an ignore label every voxel counts', () => {
  const m = computeCaseMetrics(Uint8Array.from(REF), Uint8Array.from(PRED), [1, 3]);
  assert.equal(m['1'].TN, 4);
  assert.deepEqual(m['3'], { Dice: 1, FN: 0, FP: 0, IoU: 1, TN: 7, TP: 1, n_pred: 1, n_ref: 1 });
});

test('empty reference and/or empty prediction', () => {
  const ref = Int16Array.from([0, 0, 1, 1]);
  const pred = Int16Array.from([2, 0, 1, 1]);
  const m = computeCaseMetrics(ref, pred, [1, 2, 4]);
  // label 2 absent from the reference, predicted once: Dice 0, not NaN
  assert.deepEqual(m['2'], { Dice: 0, FN: 0, FP: 1, IoU: 0, TN: 3, TP: 0, n_pred: 1, n_ref: 0 });
  // label 4 in neither: both NaN (nnU-Net convention)
  assert.ok(Number.isNaN(m['4'].Dice) && Number.isNaN(m['4'].IoU));
  assert.equal(m['4'].TN, 4);
  // empty prediction of a present label: Dice 0
  const empty = computeCaseMetrics(ref, new Int16Array(4), [1]);
  assert.deepEqual(empty['1'], { Dice: 0, FN: 2, FP: 0, IoU: 0, TN: 2, TP: 0, n_pred: 0, n_ref: 2 });
});

test('the ignore label in the prediction (not the reference) is just a wrong label', () => {
  const m = computeCaseMetrics(Int32Array.from([1, 1, 0]), Int32Array.from([3, 1, 0]), [1], 3);
  assert.deepEqual(m['1'], { Dice: 2 / 3, FN: 1, FP: 0, IoU: 0.5, TN: 1, TP: 1, n_pred: 1, n_ref: 2 });
});

test('all typed array kinds give the same counts', () => {
  const base = computeCaseMetrics(Uint8Array.from(REF), Uint8Array.from(PRED), [1, 2], 3);
  for (const T of [Int8Array, Uint16Array, Int16Array, Int32Array, Float32Array, Float64Array]) {
    assert.deepEqual(computeCaseMetrics(T.from(REF), T.from(PRED), [1, 2], 3), base, T.name);
  }
});

test('bad input is refused', () => {
  assert.throws(() => confusionMatrix(Float32Array.from([0, 1.5]), Float32Array.from([0, 1])), /1\.5 at index 1/);
  assert.throws(() => confusionMatrix(Int16Array.from([0, -1]), Int16Array.from([0, 1])), /-1 at index 1/);
  assert.throws(() => confusionMatrix(Uint8Array.from([0, 1]), Uint8Array.from([0])), /2 voxels.*1/);
  assert.throws(() => confusionMatrix(Float32Array.from([NaN]), Float32Array.from([0])), /NaN/);
});

test('labels absent from both arrays yield an all-TN class', () => {
  const cm = confusionMatrix(Uint8Array.from([0, 1]), Uint8Array.from([0, 1]));
  assert.equal(classMetrics(cm, 7).TN, 2);
});

test('keys follow Python str() of ints and tuples', () => {
  assert.equal(labelOrRegionKey(2), '2');
  assert.equal(labelOrRegionKey([1, 2, 3]), '(1, 2, 3)');
  assert.equal(labelOrRegionKey([1]), '(1,)');
});

test('matches nnU-Net compute_tp_fp_fn_tn (numpy) on random label volumes', (t) => {
  const reason = pythonUnavailable(['numpy']);
  if (reason) return t.skip(reason);
  // numpy re-implementation of evaluate_predictions.py's compute_tp_fp_fn_tn / region_or_label_to_mask
  const out = runPython(`
import json, numpy as np
rng = np.random.default_rng(7)
ref = rng.integers(0, 5, 4000); pred = rng.integers(0, 5, 4000)
pred[:2500] = ref[:2500]
ignore = ref == 4
res = {}
for r in [1, 2, 3, (1, 2), (2, 3)]:
    labs = r if isinstance(r, tuple) else (r,)
    mr = np.isin(ref, labs); mp = np.isin(pred, labs); use = ~ignore
    tp = int(np.sum(mr & mp & use)); fp = int(np.sum(~mr & mp & use)); fn = int(np.sum(mr & ~mp & use)); tn = int(np.sum(~mr & ~mp & use))
    res[str(r)] = dict(TP=tp, FP=fp, FN=fn, TN=tn, Dice=2*tp/(2*tp+fp+fn), IoU=tp/(tp+fp+fn), n_pred=tp+fp, n_ref=tp+fn)
print(json.dumps(dict(ref=ref.tolist(), pred=pred.tolist(), res=res)))
`);
  const { ref, pred, res } = JSON.parse(out) as { ref: number[]; pred: number[]; res: Record<string, Record<string, number>> };
  const ours = computeCaseMetrics(Int32Array.from(ref), Int32Array.from(pred), [1, 2, 3, [1, 2], [2, 3]], 4);
  assert.deepEqual(Object.keys(ours), Object.keys(res));
  for (const k of Object.keys(res)) {
    for (const [name, v] of Object.entries(res[k])) {
      assert.ok(Math.abs(ours[k][name as keyof (typeof ours)[string]] - v) < 1e-12, `${k} ${name}`);
    }
  }
});

// The label manager on the dataset.json shapes nnU-Net accepts and refuses, and its logits → probabilities → labels.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UserError } from '../../src/errors.js';
import { foregroundLabels, labelValues, parseDatasetJson } from '../../src/planning/dataset-json.js';
import { LabelManager, isAnnotatedClassesKey, labelManagerFrom } from '../../src/planning/labels.js';
import { F, Generator, randn, tensor, tidy } from '../../src/torch/index.js';

const base = { channel_names: { '0': 'MR' }, numTraining: 1, file_ending: '.nii.gz' };

test('plain labels: one head per label, background excluded from the scored classes, no ignore label', () => {
  const lm = labelManagerFrom({ labels: { background: 0, liver: 1, tumour: 2 } });
  assert.deepEqual(lm.allLabels, [0, 1, 2]);
  assert.deepEqual(lm.foregroundLabels, [1, 2]);
  assert.equal(lm.ignoreLabel, null);
  assert.equal(lm.hasIgnoreLabel, false);
  assert.equal(lm.numSegmentationHeads, 3);
  assert.equal(lm.hasRegions, false);
  assert.equal(lm.regions, null);
  assert.equal(lm.regionsClassOrder, null);
  assert.deepEqual(lm.evaluationClasses, [1, 2]);
  assert.deepEqual(lm.declaredValues, [0, 1, 2]);
  assert.equal(lm.annotatedClassesKey, null);
  assert.deepEqual(lm.classLocationTargets, [{ key: '1', values: [1] }, { key: '2', values: [2] }]);
});

test('an ignore label gets no head, is scored nowhere, and adds the annotated-voxel locations key "(-1, 0, 1, 2)"', () => {
  // declared first: only the value decides, as upstream's dict handling
  const lm = labelManagerFrom({ labels: { ignore: 3, background: 0, b: 2, a: 1 } });
  assert.deepEqual(lm.allLabels, [0, 1, 2]);
  assert.equal(lm.ignoreLabel, 3);
  assert.equal(lm.hasIgnoreLabel, true);
  assert.equal(lm.numSegmentationHeads, 3);
  assert.deepEqual(lm.evaluationClasses, [1, 2]);
  assert.deepEqual(lm.declaredValues, [0, 1, 2, 3]);
  assert.equal(lm.annotatedClassesKey, '(-1, 0, 1, 2)');
  assert.ok(isAnnotatedClassesKey('(-1, 0, 1, 2)') && !isAnnotatedClassesKey('(1, 2)') && !isAnnotatedClassesKey('1'));
  assert.deepEqual(lm.classLocationTargets.at(-1), { key: '(-1, 0, 1, 2)', values: [-1, 0, 1, 2] });
  // background-only dataset with ignore: the key of a one-label tuple
  assert.equal(labelManagerFrom({ labels: { background: 0, ignore: 1 } }).annotatedClassesKey, '(-1, 0)');
  // names sharing a value count once, as np.unique upstream
  assert.deepEqual(labelManagerFrom({ labels: { background: 0, a: 1, alias: 1 } }).allLabels, [0, 1]);
});

function refused(labels: Record<string, unknown>, pattern: RegExp, extra: Record<string, unknown> = {}): void {
  assert.throws(() => labelManagerFrom({ labels, ...extra }, '/x/dataset.json'), (err: unknown) => {
    assert.ok(err instanceof UserError, String(err));
    assert.match(err.message, /^\/x\/dataset\.json: invalid labels\n/);
    assert.match(err.message, pattern);
    return true;
  });
}

test('an ignore label that is not the highest value is refused, naming labels.ignore', () => {
  refused({ background: 0, a: 1, ignore: 5 }, /labels\.ignore: the ignore label must be the highest value \(2\)/);
  refused({ background: 0, ignore: 1, a: 2 }, /labels\.ignore: the ignore label must be the highest value \(3\)/);
  refused({ background: 0, ignore: 0 }, /labels\.ignore: the ignore label must be the highest value \(1\)/);
  refused({ background: 0, a: 1, ignore: [2] }, /labels\.ignore: the ignore label must be one integer, not a list/);
});

const BRATS = { background: 0, 'whole tumor': [1, 2, 3], 'tumor core': [2, 3], 'enhancing tumor': [3] };

test("regions from dataset.json as upstream: labels in key order, region members in all_labels, sigmoid heads", () => {
  const lm = labelManagerFrom({ labels: BRATS, regions_class_order: [1, 2, 3] });
  assert.equal(lm.hasRegions, true);
  assert.deepEqual(lm.allLabels, [0, 1, 2, 3]);
  assert.deepEqual(lm.regions, [[1, 2, 3], [2, 3], [3]]);
  assert.deepEqual(lm.regionsClassOrder, [1, 2, 3]);
  assert.equal(lm.numSegmentationHeads, 3);
  assert.deepEqual(lm.declaredValues, [0, 1, 2, 3]);
  // an integer entry is a region of one label, kept as an int (str(3) = "3" upstream); with an ignore label
  const withIgnore = labelManagerFrom({ labels: { background: 0, wt: [1, 2], et: 2, ignore: 3 }, regions_class_order: [1, 2] });
  assert.deepEqual(withIgnore.regions, [[1, 2], 2]);
  assert.deepEqual(withIgnore.classLocationTargets.map((t) => t.key), ['(1, 2)', '2', '(-1, 0, 1, 2)']);
  assert.equal(withIgnore.ignoreLabel, 3);
  // lists of one label only: no regions (has_regions needs a list of more than one value)
  assert.equal(labelManagerFrom({ labels: { background: 0, a: [1] } }).hasRegions, false);
  // dataset.json parses with regions, and its evaluated classes are the regions
  const json = parseDatasetJson({ ...base, labels: BRATS, regions_class_order: [1, 2, 3] }, 'dataset.json');
  assert.deepEqual(foregroundLabels(json), [[1, 2, 3], [2, 3], [3]]);
  assert.deepEqual(labelValues(json), [0, 1, 2, 3]);
});

test('broken regions are refused, naming the key, by the label manager and when dataset.json is parsed', () => {
  const order = { regions_class_order: [1, 2, 3] };
  refused({ ...BRATS, 'tumor core': [] }, /labels\.tumor core: "tumor core" is an empty region/, order);
  refused({ ...BRATS, 'tumor core': [2, 5] }, /labels\.tumor core: region "tumor core" holds 5, outside the label set: label values must be consecutive/, order);
  refused({ ...BRATS, 'tumor core': [2, -1] }, /labels\.tumor core: region "tumor core" holds \[2,-1\]: region members must be non-negative integers/, order);
  refused({ ...BRATS, ignore: 4, 'tumor core': [2, 3, 4] }, /labels\.tumor core: region "tumor core" holds the ignore label 4/, order);
  refused(BRATS, /regions_class_order: list-valued labels \(regions\) need regions_class_order/);
  refused(BRATS, /regions_class_order: has 2 entries but labels declare 3 region\(s\)/, { regions_class_order: [1, 2] });
  refused(BRATS, /regions_class_order\.2: 7 is not a foreground label of the label set \(1, 2, 3\)/, { regions_class_order: [1, 2, 7] });
  refused({ ...BRATS, background: [0, 1] }, /labels must declare "background": 0/, order);
  assert.throws(() => parseDatasetJson({ ...base, labels: { ...BRATS, 'tumor core': [] }, ...order }, '/x/dataset.json'), /empty region.*\n  → at labels\["tumor core"\]|empty region.*\n  → at labels\.tumor core/);
  assert.throws(() => parseDatasetJson({ ...base, labels: BRATS, regions_class_order: [1, 2] }, '/x/dataset.json'), /has 2 entries.*\n  → at regions_class_order/);
});

test('other broken label sets: no background, gaps, non-integers', () => {
  refused({ bg: 0, a: 1 }, /labels: labels must declare "background": 0/);
  refused({ background: 1, a: 0 }, /labels must declare "background": 0/);
  refused({ background: 0, a: 1, b: 3 }, /label values must be consecutive 0, 1, 2, \.\.\., got 0, 1, 3/);
  refused({ background: 0, a: 1.5 }, /labels\.a: a label value must be a non-negative integer/);
  refused({ background: 0, a: -1 }, /labels\.a: a label value must be a non-negative integer/);
});

test("dataset.json's label helpers read the label manager", () => {
  const json = parseDatasetJson({ ...base, labels: { background: 0, a: 1, b: 2, ignore: 3 } }, 'dataset.json');
  assert.deepEqual(labelValues(json), [0, 1, 2, 3]);
  assert.deepEqual(foregroundLabels(json), [1, 2]);
});

test('toProbabilities is a softmax over the channel axis and toSegmentation its argmax, from logits or probabilities', () =>
  tidy(() => {
    const lm = labelManagerFrom({ labels: { background: 0, a: 1, b: 2, ignore: 3 } });
    const logits = randn([2, 3, 4, 5], new Generator(4)).mul(3);
    const probs = lm.toProbabilities(logits);
    assert.deepEqual(probs.shape, [2, 3, 4, 5]);
    assert.ok(probs.sub(F.softmax(logits, 1)).abs().amax().item() === 0);
    assert.ok(probs.sum(1).sub(1).abs().amax().item() < 1e-6);
    const seg = lm.toSegmentation(logits, 'logits');
    assert.deepEqual(seg.shape, [2, 4, 5]);
    assert.equal(seg.dtype, 'int64');
    assert.deepEqual(seg.toArray(), lm.toSegmentation(probs, 'probabilities').toArray());
    assert.deepEqual(seg.toArray(), logits.argmax(1).toArray());
    // one case [K, ...]: the channel axis is 0 (export, ensembling)
    const one = logits.select(0, 1);
    assert.deepEqual(lm.toSegmentation(lm.toProbabilities(one, 0), 'probabilities', 0).toArray(), seg.select(0, 1).toArray());
    // a network with the wrong number of heads is caught
    assert.throws(() => lm.toSegmentation(randn([1, 4, 2, 2]), 'logits'), /expected 3 channels on axis 1, got 4/);
  }));

test("regions: sigmoid heads painted in regions_class_order, upstream's rule", () =>
  tidy(() => {
    const lm = new LabelManager({ allLabels: [0, 1, 2, 3], ignoreLabel: null, regions: [[1, 2, 3], [2, 3], [3]], regionsClassOrder: [1, 2, 3] });
    assert.equal(lm.hasRegions, true);
    assert.equal(lm.numSegmentationHeads, 3);
    assert.deepEqual(lm.evaluationClasses, [[1, 2, 3], [2, 3], [3]]);
    assert.deepEqual(lm.classLocationTargets.map((t) => t.key), ['(1, 2, 3)', '(2, 3)', '(3,)']);
    // 5 voxels, 3 heads; each head above 0.5 overwrites the earlier ones
    const p = tensor([0.9, 0.9, 0.2, 0.9, 0.1, /**/ 0.1, 0.8, 0.7, 0.8, 0.2, /**/ 0.1, 0.1, 0.6, 0.9, 0.5], [3, 5]);
    assert.deepEqual(lm.toSegmentation(p, 'probabilities', 0).toArray(), [1, 2, 3, 3, 0]);
    const logits = p.div(p.neg().add(1)).log();
    assert.ok(lm.toProbabilities(logits, 0).sub(p).abs().amax().item() < 1e-6);
    assert.deepEqual(lm.toSegmentation(logits.slice(1, 0, 4), 'logits', 0).toArray(), [1, 2, 3, 3]);
    assert.throws(() => new LabelManager({ allLabels: [0, 1], ignoreLabel: null, regions: [[1]], regionsClassOrder: [] }), /one entry per region/);
  }));

// The cascade's augmentation: the previous stage's segmentation rides along as seg channel 1 through the spatial
// transforms (so it stays aligned with the target), becomes one-hot image channels, and is perturbed by the random
// binary operators (checked against scipy.ndimage) and by removing a small connected component.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  applyRandomBinaryOperator,
  binaryOperation,
  buildTrainingTransforms,
  buildValidationTransforms,
  compose,
  mirror,
  moveSegAsOneHotToData,
  removeLabel,
  removeRandomConnectedComponent,
  spatialTransform,
} from '../../../src/data/augmentation/index.js';
import { labelComponents } from '../../../src/postprocessing/connected-components.js';
import { Generator, type Tensor, cat, rand, tensor, tidy } from '../../../src/torch/index.js';
import { pythonUnavailable, runPython } from '../../evaluation/python-ref.js';

/** A label map of blobs (labels 1 and 2 in random balls) of `shape`, seeded. */
function blobs(shape: number[], seed: number): Int16Array {
  const g = new Generator(seed);
  const out = new Int16Array(shape.reduce((a, b) => a * b, 1));
  for (let b = 0; b < 6; b++) {
    const c = shape.map((s) => g.uniform(0, s));
    const r = g.uniform(1.5, 4);
    const label = 1 + (b % 2);
    let i = 0;
    for (let z = 0; z < shape[0]; z++)
      for (let y = 0; y < shape[1]; y++)
        for (let x = 0; x < shape[2]; x++, i++) if ((z - c[0]) ** 2 + (y - c[1]) ** 2 + (x - c[2]) ** 2 <= r * r) out[i] = label;
  }
  return out;
}

const arr = (t: Tensor) => Array.from(t.toTypedArray() as ArrayLike<number>);

test('a seg channel and a previous-stage channel equal before the spatial transform and mirroring stay equal after it', () => {
  const inShape = [20, 20, 20];
  const patch = [12, 12, 12];
  const seg = blobs(inShape, 3);
  let changed = 0;
  for (let seed = 0; seed < 6; seed++) {
    const pipeline = compose([spatialTransform({ patchSize: patch, pRotation: 1, rotation: [-0.6, 0.6], pScaling: 1, scaling: [0.7, 1.4] }), mirror([0, 1, 2], 0.5), removeLabel(-1, 0), moveSegAsOneHotToData([1, 2])]);
    const { oneHot, target, centre } = tidy(() => {
      const s = tensor(seg, [1, ...inShape], 'int16');
      const input = { image: rand([1, ...inShape], new Generator(seed)), seg: cat([s, s], 0) };
      const out = pipeline(input, new Generator(100 + seed));
      assert.deepEqual(out.image.shape, [3, ...patch], 'image + 2 one-hot channels');
      assert.deepEqual(out.seg.shape, [1, ...patch], 'the previous stage left the seg');
      const t = out.seg.select(0, 0);
      return {
        oneHot: [1, 2].map((l) => arr(out.image.select(0, l))),
        target: [1, 2].map((l) => arr(t.eq(l).float())),
        centre: arr(s.select(0, 0).slice(0, 4, 16).slice(1, 4, 16).slice(2, 4, 16)),
      };
    });
    assert.deepEqual(oneHot, target, `seed ${seed}: the one-hot channels are the transformed target`);
    const targetLabels = target[0].map((v, i) => (v ? 1 : target[1][i] ? 2 : 0));
    if (targetLabels.some((v, i) => v !== centre[i])) changed++;
  }
  assert.ok(changed >= 5, `the transform rotated/scaled the patches (${changed} of 6 differ from a centre crop)`);
});

test('validation: the previous stage becomes one-hot channels without any perturbation; training adds them too', () => {
  const shape = [12, 12, 12];
  const base = { patchSize: shape, rotation: [-0.5, 0.5] as [number, number], doDummy2D: false, mirrorAxes: [0, 1, 2], deepSupervisionScales: null, useMaskForNorm: [false], previousStageLabels: [1, 2] };
  const seg = blobs(shape, 5);
  const prev = blobs(shape, 6);
  tidy(() => {
    const input = { image: rand([1, ...shape], new Generator(1)), seg: cat([tensor(seg, [1, ...shape], 'int16'), tensor(prev, [1, ...shape], 'int16')], 0) };
    const val = buildValidationTransforms(base).transform(input, new Generator(2));
    assert.deepEqual(val.image.shape, [3, ...shape]);
    assert.deepEqual(arr(val.image.select(0, 2)), Array.from(prev, (v) => (v === 2 ? 1 : 0)));
    assert.deepEqual(arr(val.segs[0]), Array.from(seg));
    const trainingPipeline = buildTrainingTransforms(base);
    const tr = trainingPipeline.transform({ ...input, seg: input.seg.pad([2, 2, 2, 2, 2, 2], -1), image: input.image.pad([2, 2, 2, 2, 2, 2], 0) }, new Generator(3));
    assert.equal(tr.image.size(0), 3);
    assert.equal(tr.segs[0].size(0), 1);
  });
});

test('binary operators with a ball match scipy.ndimage (outside the array: neither foreground nor background)', (t) => {
  const skip = pythonUnavailable(['numpy', 'scipy.ndimage']);
  if (skip) return t.skip(skip);
  const shape = [14, 15, 16];
  // blobs touching the borders, and one small blob inside (the distance transform runs on the grown bounding box)
  const inner = new Uint8Array(14 * 15 * 16).map((_, i) => ((Math.floor(i / 240) - 7) ** 2 + ((Math.floor(i / 16) % 15) - 6) ** 2 + ((i % 16) - 9) ** 2 <= 5 ? 1 : 0));
  const masks = [Uint8Array.from(blobs(shape, 9), (v) => (v ? 1 : 0)), inner];
  const ops: [string, number][] = [['dilation', 1], ['dilation', 2.5], ['erosion', 1], ['erosion', 2], ['opening', 2], ['closing', 3]];
  const cases = masks.flatMap((m, k) => ops.map(([op, r]): [number, string, number] => [k, op, r]));
  const ours = cases.map(([k, op, r]) => Array.from(binaryOperation(op as 'dilation', masks[k], shape, r)));
  const py = runPython(
    `
import sys, json, numpy as np
from scipy import ndimage as ndi
shape, masks, cases = json.loads(sys.stdin.read())
ms = [np.array(m, bool).reshape(shape) for m in masks]
def ball(r):
    R = int(np.floor(r)); g = np.arange(-R, R + 1)
    z, y, x = np.meshgrid(g, g, g, indexing='ij')
    return z**2 + y**2 + x**2 <= r * r
dil = lambda a, s: ndi.binary_dilation(a, s, border_value=0)
ero = lambda a, s: ndi.binary_erosion(a, s, border_value=1)
ops = {'dilation': dil, 'erosion': ero, 'opening': lambda a, s: dil(ero(a, s), s), 'closing': lambda a, s: ero(dil(a, s), s)}
print(json.dumps([ops[o](ms[k], ball(r)).astype(int).ravel().tolist() for k, o, r in cases]))
`,
    JSON.stringify([shape, masks.map((m) => Array.from(m)), cases]),
  );
  const expected = JSON.parse(py) as number[][];
  cases.forEach(([k, op, r], i) => assert.deepEqual(ours[i], expected[i], `mask ${k}: ${op} r=${r}`));
  assert.notDeepEqual(ours[0], Array.from(masks[0]), 'dilation changed the mask');
  assert.ok(ours[ops.length + 2].some(Boolean), 'the inner blob survives erosion by 1');
});

test('ApplyRandomBinaryOperator: a channel grows only by taking voxels from the other one-hot channels', () => {
  const shape = [12, 12, 12];
  const seg = blobs(shape, 11);
  for (let seed = 0; seed < 4; seed++) {
    tidy(() => {
      const s = tensor(seg, [1, ...shape], 'int16');
      const image = cat([rand([1, ...shape], new Generator(seed)), s.eq(1).float(), s.eq(2).float()], 0);
      const out = applyRandomBinaryOperator({ channels: 2 })({ image, seg: s }, new Generator(seed));
      assert.deepEqual(arr(out.image.select(0, 0)), arr(image.select(0, 0)), 'the image channel is untouched');
      const a = arr(out.image.select(0, 1));
      const b = arr(out.image.select(0, 2));
      assert.ok(a.every((v, i) => !(v && b[i])), `seed ${seed}: one-hot channels stay disjoint`);
      assert.ok(a.every((v) => v === 0 || v === 1) && b.every((v) => v === 0 || v === 1));
    });
  }
});

test('RemoveRandomConnectedComponent removes exactly one component under 15% of the patch per channel', () => {
  const shape = [16, 16, 16];
  const seg = blobs(shape, 21);
  tidy(() => {
    const s = tensor(seg, [1, ...shape], 'int16');
    const image = cat([rand([1, ...shape], new Generator(0)), s.eq(1).float(), s.eq(2).float()], 0);
    const out = removeRandomConnectedComponent({ channels: 2 })({ image, seg: s }, new Generator(4));
    for (const c of [1, 2]) {
      const before = Uint8Array.from(arr(image.select(0, c)));
      const after = Uint8Array.from(arr(out.image.select(0, c)));
      const lb = labelComponents(before, shape);
      const la = labelComponents(after, shape);
      assert.ok(after.every((v, i) => v <= before[i]), 'only removes');
      const small = Array.from(lb.sizes).filter((n, k) => k > 0 && n < before.length * 0.15).length;
      assert.equal(la.count, small > 0 ? lb.count - 1 : lb.count, `channel ${c}: one component fewer`);
    }
  });
});

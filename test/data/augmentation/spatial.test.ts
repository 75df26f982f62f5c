import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Generator, type Tensor, arange, dispose, rand, randint, tensor } from '../../../src/torch/index.js';
import { centerCrop, spatialTransform } from '../../../src/data/augmentation/index.js';
import { pythonUnavailable, runPython } from '../../io/reference-python.js';

function close(actual: number[], expected: number[], tol = 1e-5): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) <= tol, `element ${i}: ${v} vs ${expected[i]}`));
}

function ramp(shape: number[]): Tensor {
  return arange(0, shape.reduce((a, b) => a * b, 1), 1, 'float32').reshape(shape);
}

test('without rotation or scaling the patch is a plain centre crop (start = ⌊n/2⌋ − ⌊p/2⌋), no resampling', () => {
  const image = ramp([2, 7, 6]);
  const seg = randint(0, 3, [1, 7, 6], new Generator(3), 'int8');
  const out = spatialTransform({ patchSize: [4, 3], pRotation: 0, pScaling: 0 })({ image, seg }, new Generator(0));
  // rows 3−2 = 1 … 4, columns 3−1 = 2 … 4
  const expected: number[] = [];
  for (let c = 0; c < 2; c++) for (let y = 1; y < 5; y++) for (let x = 2; x < 5; x++) expected.push(c * 42 + y * 6 + x);
  assert.deepEqual(out.image.toArray(), expected);
  assert.deepEqual(out.seg.toArray(), seg.slice(1, 1, 5).slice(2, 2, 5).contiguous().toArray());
  assert.equal(out.seg.dtype, 'int8');
  assert.ok(!image.isDisposed && !seg.isDisposed, 'inputs stay alive');
  dispose([image, seg, out]);
});

test('centre crop pads with the given value where the patch leaves the input', () => {
  const t = tensor([1, 2, 3], [1, 3], 'int16');
  assert.deepEqual(centerCrop(t, [6], -1).toArray(), [-1, -1, 1, 2, 3, -1]);
});

test('an identity affine through grid_sample reproduces the input (and the centre crop when the margin is even)', () => {
  const rng = new Generator(5);
  const image = rand([2, 6, 8, 4], rng);
  const seg = randint(0, 4, [1, 6, 8, 4], rng, 'int16');
  const identity = spatialTransform({ patchSize: [6, 8, 4], pRotation: 1, rotation: [0, 0], pScaling: 0 });
  const same = identity({ image, seg }, rng);
  close(same.image.toArray(), image.toArray());
  assert.deepEqual(same.seg.toArray(), seg.toArray());
  const smaller = spatialTransform({ patchSize: [4, 4, 2], pRotation: 0, pScaling: 1, scaling: [1, 1] })({ image, seg }, rng);
  close(smaller.image.toArray(), centerCrop(image, [4, 4, 2], 0).toArray());
  assert.deepEqual(smaller.seg.toArray(), centerCrop(seg, [4, 4, 2], -1).toArray());
});

test('a 90° rotation of a 2D image equals a transpose and a flip (image and seg)', () => {
  const image = ramp([1, 5, 5]);
  const seg = arange(0, 25, 1, 'int16').remainder(3).reshape([1, 5, 5]);
  const out = spatialTransform({ patchSize: [5, 5], pRotation: 1, rotation: [Math.PI / 2, Math.PI / 2], pScaling: 0 })({ image, seg }, new Generator(0));
  close(out.image.toArray(), image.transpose(1, 2).flip([2]).toArray());
  assert.deepEqual(out.seg.toArray(), seg.transpose(1, 2).flip([2]).toArray());
});

test('dummy-2D rotates every slice of the first axis by the same in-plane transform', () => {
  const rng = new Generator(11);
  const image = rand([1, 3, 6, 6], rng);
  const seg = randint(0, 3, [1, 3, 6, 6], rng, 'int16');
  const angle: [number, number] = [0.4, 0.4];
  const out3d = spatialTransform({ patchSize: [3, 4, 4], pRotation: 1, rotation: angle, pScaling: 1, scaling: [1.2, 1.2], dummy2D: true })({ image, seg }, rng);
  const plane = spatialTransform({ patchSize: [4, 4], pRotation: 1, rotation: angle, pScaling: 1, scaling: [1.2, 1.2] });
  assert.deepEqual(out3d.image.shape, [1, 3, 4, 4]);
  for (let x = 0; x < 3; x++) {
    const slice = plane({ image: image.select(1, x), seg: seg.select(1, x) }, rng);
    close(out3d.image.select(1, x).contiguous().toArray(), slice.image.toArray());
    assert.deepEqual(out3d.seg.select(1, x).contiguous().toArray(), slice.seg.toArray());
  }
  assert.throws(() => spatialTransform({ patchSize: [2, 4, 4], dummy2D: true })({ image, seg }, rng), /first axis/);
});

test('rotated and scaled segs only hold input labels, and −1 exactly where the patch reaches outside the input', () => {
  const rng = new Generator(21);
  const t = spatialTransform({ patchSize: [8, 10, 6], pRotation: 1, pScaling: 1 });
  for (let i = 0; i < 8; i++) {
    const image = rand([1, 9, 12, 9], rng);
    const seg = randint(0, 3, [1, 9, 12, 9], rng, 'int8');
    const out = t({ image, seg }, rng);
    const labels = out.seg.unique().values.toArray();
    assert.ok(labels.every((l) => [-1, 0, 1, 2].includes(l)), `labels ${labels}`);
    dispose([image, seg, out]);
  }
  // zooming out by 3 samples mostly outside a 4×4 input: the border reads −1, the centre keeps the labels
  const seg = tensor(new Array<number>(16).fill(2), [1, 4, 4], 'int16');
  const out = spatialTransform({ patchSize: [4, 4], pRotation: 0, pScaling: 1, scaling: [3, 3] })({ image: rand([1, 4, 4], rng), seg }, rng);
  assert.deepEqual(out.seg.toArray(), [-1, -1, -1, -1, -1, 2, 2, -1, -1, 2, 2, -1, -1, -1, -1, -1]);
});

test('3D rotation + scaling matches a grid built as BG2 builds it (reference torch grid_sample)', (t) => {
  const why = pythonUnavailable(['torch', 'numpy']);
  if (why) return t.skip(why);
  const rng = new Generator(7);
  const shape = [5, 9, 7];
  const patch = [4, 6, 5];
  const [angle, scale] = [0.35, 1.15];
  const image = rand([2, ...shape], rng);
  const seg = randint(0, 3, [1, ...shape], rng, 'int16');
  const out = spatialTransform({ patchSize: patch, pRotation: 1, rotation: [angle, angle], pScaling: 1, scaling: [scale, scale] })({ image, seg }, rng);
  // The reference grid: voxel centres of the patch in normalized units listed x-first, shrunk by patch/shape per axis,
  // times (row vector) Rz·Ry·Rx·s, sampled with bilinear/zeros/align_corners=False; seg by one-hot argmax, −1 outside.
  const script = `
import sys, json, torch, numpy as np
from torch.nn.functional import grid_sample
d = json.loads(sys.argv[1]); shape, patch, a, s = d['shape'], d['patch'], d['angle'], d['scale']
img = torch.tensor(d['image'], dtype=torch.float32).reshape([2] + shape)
seg = torch.tensor(d['seg']).reshape([1] + shape)
axes = [torch.linspace(-(p - 1) / p, (p - 1) / p, p) for p in patch]
mesh = torch.meshgrid(*axes, indexing='ij')
grid = torch.stack(mesh[::-1], -1) * torch.tensor([patch[i] / shape[i] for i in (2, 1, 0)])
c, sn = np.cos(a), np.sin(a)
Rx = np.array([[1, 0, 0], [0, c, -sn], [0, sn, c]]); Ry = np.array([[c, 0, sn], [0, 1, 0], [-sn, 0, c]]); Rz = np.array([[c, -sn, 0], [sn, c, 0], [0, 0, 1]])
grid = grid @ torch.from_numpy(Rz @ Ry @ Rx * s).float()
out = grid_sample(img[None], grid[None], mode='bilinear', padding_mode='zeros', align_corners=False)[0]
labels = torch.unique(seg)
w = torch.stack([grid_sample((seg == u).float()[None], grid[None], mode='bilinear', padding_mode='zeros', align_corners=False)[0, 0] for u in labels])
val, idx = w.max(0)
res = labels[idx]; res[val == 0] = -1
print(json.dumps({'image': out.flatten().tolist(), 'seg': res.flatten().tolist()}))
`;
  const ref = runPython<{ image: number[]; seg: number[] }>(script, [JSON.stringify({ shape, patch, angle, scale, image: image.toArray(), seg: seg.toArray() })]);
  close(out.image.toArray(), ref.image, 1e-4);
  assert.deepEqual(out.seg.toArray(), ref.seg);
});

// Resampling against the Python reference (skimage resize / scipy zoom + map_coordinates as nnU-Net uses them).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { computeNewShape } from '../../src/planning/experiment-planner.js';
import { resampleData, resampleSeg, resampleToShape } from '../../src/preprocessing/resampling.js';
import { interpolationMatrix } from '../../src/portable/interpolation.js';
import { tensor, tidy } from '../../src/torch/index.js';
import { REFERENCE_PYTHON, pythonUnavailable } from '../io/reference-python.js';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'resampling_reference.py');
const missing = pythonUnavailable(['numpy', 'scipy']);
// a half-removed scikit-image (its -lib package left behind) imports but has no resize: ask for resize itself
const skimageMissing =
  missing ?? (spawnSync(REFERENCE_PYTHON, ['-c', 'from skimage.transform import resize']).status === 0 ? null : `${REFERENCE_PYTHON} cannot import skimage.transform.resize`);

interface Reply {
  backend: string;
  results: (number[] | number)[];
}

function reference(requests: object[]): Reply {
  const r = spawnSync(REFERENCE_PYTHON, [SCRIPT], { input: JSON.stringify(requests), encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`reference failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as Reply;
}

/** Deterministic pseudo-random values in [-1, 1). */
function values(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

/** A blobby label map with values in `labels`, so masks have structure at the voxel scale. */
function labels(shape: number[], seed: number, set: number[]): number[] {
  const v = values(shape.reduce((a, b) => a * b, 1), seed);
  const [, z, y, x] = shape;
  return v.map((r, i) => {
    const xi = i % x;
    const yi = Math.floor(i / x) % y;
    const zi = Math.floor(i / (x * y)) % z;
    const smooth = Math.sin(xi * 0.9 + zi) + Math.cos(yi * 0.7) + 0.6 * r;
    return set[Math.min(set.length - 1, Math.max(0, Math.floor((smooth + 2.2) / (4.4 / set.length))))];
  });
}

interface Case {
  name: string;
  isSeg: boolean;
  shape: number[];
  currentSpacing: number[];
  newSpacing: number[];
  order: number;
  orderZ: number;
  forceSeparateZ: boolean | null;
  data: number[];
}

const CASES: Case[] = [
  { name: 'order 3, isotropic, up and down', isSeg: false, shape: [2, 7, 9, 6], currentSpacing: [1, 1, 1], newSpacing: [0.7, 1.3, 0.9], order: 3, orderZ: 0, forceSeparateZ: null, data: values(2 * 7 * 9 * 6, 1) },
  { name: 'order 3, separate z (anisotropic source)', isSeg: false, shape: [1, 5, 8, 7], currentSpacing: [4, 1, 1], newSpacing: [2.5, 0.8, 1.3], order: 3, orderZ: 0, forceSeparateZ: null, data: values(5 * 8 * 7, 2) },
  { name: 'order 3, separate z on axis 2 (anisotropic target)', isSeg: false, shape: [1, 6, 7, 8], currentSpacing: [1, 1, 1.5], newSpacing: [0.9, 1.1, 4.5], order: 3, orderZ: 0, forceSeparateZ: null, data: values(6 * 7 * 8, 3) },
  { name: 'order 3, separate z forced off', isSeg: false, shape: [1, 5, 8, 7], currentSpacing: [4, 1, 1], newSpacing: [2.5, 0.8, 1.3], order: 3, orderZ: 0, forceSeparateZ: false, data: values(5 * 8 * 7, 4) },
  { name: 'order 1 probabilities, 3 channels', isSeg: false, shape: [3, 6, 5, 7], currentSpacing: [1, 1, 1], newSpacing: [0.6, 1.7, 1.2], order: 1, orderZ: 0, forceSeparateZ: null, data: values(3 * 6 * 5 * 7, 5).map((v) => (v + 1) / 2) },
  { name: 'order 1, separate z with order_z 1', isSeg: false, shape: [1, 4, 6, 6], currentSpacing: [5, 1, 1], newSpacing: [3, 1.2, 0.7], order: 1, orderZ: 1, forceSeparateZ: null, data: values(4 * 6 * 6, 6) },
  { name: 'seg order 1 one-hot, labels -1..2', isSeg: true, shape: [1, 7, 9, 8], currentSpacing: [1, 1, 1], newSpacing: [0.6, 1.4, 0.8], order: 1, orderZ: 0, forceSeparateZ: null, data: labels([1, 7, 9, 8], 7, [-1, 0, 1, 2]) },
  { name: 'seg separate z, nearest along z', isSeg: true, shape: [1, 5, 9, 8], currentSpacing: [4, 1, 1], newSpacing: [2.2, 0.7, 1.3], order: 1, orderZ: 0, forceSeparateZ: null, data: labels([1, 5, 9, 8], 8, [0, 1, 2, 3]) },
  { name: 'seg separate z, order_z 1 masks (> 0.5)', isSeg: true, shape: [1, 5, 8, 8], currentSpacing: [4, 1, 1], newSpacing: [1.6, 0.9, 1.1], order: 1, orderZ: 1, forceSeparateZ: null, data: labels([1, 5, 8, 8], 9, [-1, 0, 1, 2]) },
  { name: 'seg exact downsampling by 2 (ties at 0.5)', isSeg: true, shape: [1, 4, 8, 8], currentSpacing: [1, 1, 1], newSpacing: [2, 2, 2], order: 1, orderZ: 0, forceSeparateZ: null, data: labels([1, 4, 8, 8], 10, [0, 1, 2]) },
];

test('interpolationMatrix equals scipy.ndimage.zoom(grid_mode=True, mode="nearest") for orders 0-5', (t) => {
  if (missing) return t.skip(missing);
  const sizes = [[7, 11], [13, 5], [1, 4], [4, 1], [9, 27], [30, 19], [6, 4]];
  const requests = [];
  const ours: number[][] = [];
  for (let order = 0; order <= 5; order++) {
    for (const [nIn, nOut] of sizes) {
      const x = values(nIn, order * 100 + nIn);
      requests.push({ kind: 'zoom1d', data: x, n_out: nOut, order });
      const w = interpolationMatrix(nIn, nOut, order);
      ours.push(Array.from({ length: nOut }, (_, i) => x.reduce((s, v, k) => s + w[i * nIn + k] * v, 0)));
    }
  }
  const { results } = reference(requests);
  results.forEach((r, i) => {
    const err = Math.max(...(r as number[]).map((v, j) => Math.abs(v - ours[i][j])));
    assert.ok(err < 1e-8, `request ${i}: max error ${err}`);
  });
});

test('skimage resize(mode="edge", anti_aliasing=False) is scipy zoom(grid_mode) + clip (justifies the scipy fallback)', (t) => {
  if (missing) return t.skip(missing);
  if (skimageMissing) return t.skip(`skimage is not installed (${skimageMissing}); the fallback reference is used unverified`);
  const requests = [
    { kind: 'equivalence', seed: 1, shape: [6, 9, 7], new_shape: [11, 4, 7], order: 3 },
    { kind: 'equivalence', seed: 2, shape: [5, 5, 8], new_shape: [7, 12, 3], order: 1 },
    { kind: 'equivalence', seed: 3, shape: [9, 8], new_shape: [4, 13], order: 3 },
  ];
  for (const err of reference(requests).results) assert.ok((err as number) < 1e-12, `skimage vs zoom+clip differ by ${err}`);
});

test('resampleData / resampleSeg match nnU-Net resample_data_or_seg (order 3, order 1 one-hot, separate z)', (t) => {
  if (missing) return t.skip(missing);
  const requests = CASES.map((c) => ({
    data: c.data,
    shape: c.shape,
    new_shape: computeNewShape(c.shape.slice(1), c.currentSpacing, c.newSpacing),
    current_spacing: c.currentSpacing,
    new_spacing: c.newSpacing,
    is_seg: c.isSeg,
    order: c.order,
    order_z: c.orderZ,
    force_separate_z: c.forceSeparateZ,
  }));
  const reply = reference(requests);
  t.diagnostic(`reference backend: ${reply.backend}`);
  CASES.forEach((c, i) => {
    const newShape = requests[i].new_shape;
    const ours = tidy(() => {
      const x = c.isSeg ? tensor(c.data, c.shape, 'int16') : tensor(c.data, c.shape, 'float32');
      const kwargs = { is_seg: c.isSeg, order: c.order, order_z: c.orderZ, force_separate_z: c.forceSeparateZ };
      const out = resampleToShape(x, newShape, c.currentSpacing, c.newSpacing, kwargs);
      assert.deepEqual(out.shape, [c.shape[0], ...newShape], c.name);
      return out.toArray();
    });
    const expected = reply.results[i] as number[];
    assert.equal(ours.length, expected.length, c.name);
    if (c.isSeg) {
      const wrong = ours.filter((v, j) => v !== expected[j]).length;
      assert.equal(wrong, 0, `${c.name}: ${wrong} of ${ours.length} labels differ`);
    } else {
      const err = Math.max(...ours.map((v, j) => Math.abs(v - expected[j])));
      assert.ok(err < 1e-4, `${c.name}: max error ${err}`);
    }
  });
});

test('an unchanged shape returns the input; separate z keeps the slice count when only in-plane changes', () => {
  tidy(() => {
    const x = tensor(values(2 * 3 * 4 * 5, 11), [2, 3, 4, 5]);
    const kwargs = { order: 3, order_z: 0, force_separate_z: null };
    assert.equal(resampleData(x, [3, 4, 5], [1, 1, 1], [1, 1, 1], kwargs), x);
    const seg = tensor([0, 1, 2, 1, 0, 2], [1, 1, 2, 3], 'int16');
    assert.equal(resampleSeg(seg, [1, 2, 3], [1, 1, 1], [1, 1, 1], kwargs), seg);
    const inPlane = resampleData(x, [3, 8, 10], [5, 1, 1], [5, 0.5, 0.5], kwargs);
    assert.deepEqual(inPlane.shape, [2, 3, 8, 10]);
  });
});

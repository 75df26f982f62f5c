// The portable (typed-array) preprocessing pieces against the libtorch ones they stand in for, on small volumes:
// resampling of images and label maps (joint and separate-z, up and down, every spline order the plans use), the
// Gaussian importance map and the normalization schemes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gaussianImportanceMap } from '../../src/inference/gaussian.js';
import { gaussianMap } from '../../src/portable/gaussian.js';
import { normalizeChannel as normalizePortable } from '../../src/portable/normalization.js';
import { resampleData as resampleDataPortable, resampleSeg as resampleSegPortable } from '../../src/portable/resampling.js';
import { normalizeChannel } from '../../src/preprocessing/normalization.js';
import { resampleData, resampleSeg } from '../../src/preprocessing/resampling.js';
import { Generator, randn, tensor, tidy } from '../../src/torch/index.js';

function random(shape: number[], seed: number): Float32Array {
  return tidy(() => randn(shape, new Generator(seed)).toTypedArray() as Float32Array);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const CASES = [
  { name: 'isotropic upsampling, order 3', shape: [2, 7, 9, 6], newShape: [11, 13, 8], current: [1, 1, 1], target: [0.6, 0.7, 0.75], order: 3, orderZ: 0, force: null },
  { name: 'mixed up/down, order 1', shape: [1, 10, 8, 12], newShape: [6, 13, 9], current: [1, 1, 1], target: [1.6, 0.6, 1.3], order: 1, orderZ: 0, force: null },
  { name: 'separate z (anisotropic), order 3 / z 0', shape: [2, 5, 12, 11], newShape: [9, 10, 14], current: [4, 1, 1], target: [2.2, 1.2, 0.8], order: 3, orderZ: 0, force: null },
  { name: 'forced separate z, order 2 / z 1', shape: [1, 6, 9, 8], newShape: [10, 7, 12], current: [3, 1, 1], target: [1.8, 1.3, 0.7], order: 2, orderZ: 1, force: true },
  { name: 'order 5 downsampling', shape: [1, 12, 10, 9], newShape: [7, 6, 5], current: [1, 1, 1], target: [1.7, 1.6, 1.8], order: 5, orderZ: 0, force: false },
];

for (const c of CASES) {
  test(`portable resampling equals src/preprocessing/resampling.ts: ${c.name}`, (t) => {
    const kwargs = { is_seg: false, order: c.order, order_z: c.orderZ, force_separate_z: c.force };
    const data = random(c.shape, 11);
    const expected = tidy(() => resampleData(tensor(data, c.shape), c.newShape, c.current, c.target, kwargs).toTypedArray() as Float32Array);
    const got = resampleDataPortable(data, c.shape, c.newShape, c.current, c.target, kwargs);
    assert.deepEqual(got.shape, [c.shape[0], ...c.newShape]);
    const d = maxAbsDiff(got.data, expected);
    assert.ok(d < 2e-5, `images: max diff ${d}`);
    t.diagnostic(`images: max diff ${d.toExponential(2)}`);

    // voxel-wise random labels -1..3: every mask has edges everywhere
    const field = random([1, ...c.shape.slice(1)], 12);
    const seg = Int16Array.from(field, (v) => Math.max(-1, Math.min(3, Math.round(v * 1.5))));
    const segKwargs = { ...kwargs, is_seg: true, order: 1 };
    const segShape = [1, ...c.shape.slice(1)];
    const expectedSeg = tidy(() => resampleSeg(tensor(seg, segShape), c.newShape, c.current, c.target, segKwargs).toTypedArray() as Int16Array);
    const gotSeg = resampleSegPortable(seg, segShape, c.newShape, c.current, c.target, segKwargs);
    let differ = 0;
    for (let i = 0; i < expectedSeg.length; i++) if (gotSeg.data[i] !== expectedSeg[i]) differ++;
    // a mask value within float rounding of the 0.5 threshold may fall either way; nothing else may differ
    t.diagnostic(`labels: ${differ}/${expectedSeg.length} voxels differ`);
    assert.ok(differ <= Math.ceil(expectedSeg.length * 1e-3), `labels: ${differ}/${expectedSeg.length} voxels differ`);
    assert.ok(new Set(expectedSeg).size >= 3);
  });
}

test('portable Gaussian importance map equals src/inference/gaussian.ts', () => {
  for (const tile of [[16, 16, 16], [5, 12], [40, 56, 40], [1, 7, 3]]) {
    const expected = tidy(() => gaussianImportanceMap(tile).toTypedArray() as Float32Array);
    assert.deepEqual(gaussianMap(tile), expected, `tile [${tile}]`);
  }
});

test('portable normalization equals src/preprocessing/normalization.ts for every scheme', () => {
  const shape = [6, 7, 8];
  const x = Float32Array.from(random(shape, 21), (v) => v * 40 + 100);
  const seg = Int16Array.from(random(shape, 22), (v) => (v > -0.6 ? 0 : -1));
  const nonzero = Uint8Array.from(seg, (s) => (s >= 0 ? 1 : 0));
  const intensityProperties = { max: 200, mean: 95, median: 96, min: 0, percentile_00_5: 20, percentile_99_5: 170, std: 33 };
  for (const [scheme, useMaskForNorm] of [['ZScoreNormalization', false], ['ZScoreNormalization', true], ['CTNormalization', false], ['NoNormalization', false], ['RescaleTo01Normalization', false]] as const) {
    const expected = tidy(() => normalizeChannel(tensor(x, shape), tensor(seg, shape), scheme, { useMaskForNorm, intensityProperties }).toTypedArray() as Float32Array);
    const got = normalizePortable(x, nonzero, { scheme, useMaskForNorm, intensityProperties });
    const d = maxAbsDiff(got, expected);
    assert.ok(d < 2e-6, `${scheme}${useMaskForNorm ? ' (masked)' : ''}: max diff ${d}`);
  }
  assert.throws(() => normalizePortable(x, nonzero, { scheme: 'RGBTo01Normalization', useMaskForNorm: false }), /RGBTo01Normalization expects values in \[0, 255\]/);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GAUSSIAN_PEAK, gaussianImportanceMap } from '../../src/inference/gaussian.js';
import { gaussianProfile } from '../../src/portable/gaussian.js';
import { padToTile, roundHalfEven, slidingWindowSteps, tileOrigins } from '../../src/inference/tiles.js';
import { tidy } from '../../src/torch/index.js';
import { assertClose, refTensor, referenceUnavailable } from '../torch/torch-reference.js';
import { runReference } from './helpers.js';

test('gaussian map of an 8-voxel tile: σ = 1, centre at 4, peak 10, hand-computed tails', () => {
  tidy(() => {
    const map = gaussianImportanceMap([8]).toArray();
    // exp(-d²/2) for d = -4..3, times 10
    const expected = [-4, -3, -2, -1, 0, 1, 2, 3].map((d) => 10 * Math.exp(-0.5 * d * d));
    expected.forEach((e, i) => assert.ok(Math.abs(map[i] - e) <= 1e-6 * e, `index ${i}: ${map[i]} vs ${e}`));
    assert.equal(Math.max(...map), GAUSSIAN_PEAK);
  });
});

test('gaussian profile is cut at scipy\'s radius int(4σ + 0.5); zeros in the map become the smallest nonzero value', () => {
  // size 20, σ = 1.25 (scale 1/16): radius 5, so offsets -10..-6 and 6..9 lie outside the kernel
  const p = gaussianProfile(20, 1.25);
  assert.equal(p[10 - 5] > 0, true);
  assert.equal(p[10 - 6], 0);
  assert.equal(p[10 + 6], 0);
  tidy(() => {
    const map = gaussianImportanceMap([20, 20], 1 / 16);
    const values = map.toArray();
    const smallest = Math.min(...values);
    assert.ok(smallest > 0);
    // the corner (both axes outside the radius) holds the map's smallest nonzero value: the product of both edge tails
    const edge = 10 * Math.exp(-0.5 * (5 / 1.25) ** 2) ** 2;
    assert.ok(Math.abs(values[0] - edge) <= 1e-6 * edge, `${values[0]} vs ${edge}`);
  });
});

test('gaussian map equals scipy.ndimage.gaussian_filter of a centred delta (nnU-Net patch sizes)', (t) => {
  const why = referenceUnavailable(['torch', 'scipy']);
  if (why) return t.skip(why);
  const ref = runReference(`
out['a'] = ref_gaussian([40, 56, 40])
out['b'] = ref_gaussian([7, 12])
out['c'] = ref_gaussian([20, 9], 1. / 16)
`);
  tidy(() => {
    assertClose(gaussianImportanceMap([40, 56, 40]), refTensor(ref, 'a'), { rtol: 1e-5, atol: 0, what: '40x56x40' });
    assertClose(gaussianImportanceMap([7, 12]), refTensor(ref, 'b'), { rtol: 1e-5, atol: 0, what: '7x12' });
    assertClose(gaussianImportanceMap([20, 9], 1 / 16), refTensor(ref, 'c'), { rtol: 1e-5, atol: 0, what: '20x9 σ=tile/16' });
  });
});

test('sliding-window steps: hand-computed cases', () => {
  // n = ceil((100 − 40) / 20) + 1 = 4 starts over [0, 60]
  assert.deepEqual(slidingWindowSteps([100], [40], 0.5), [[0, 20, 40, 60]]);
  // nnU-Net's own example: 110 with tile 64 → ceil(46 / 32) + 1 = 3 starts, 23 apart
  assert.deepEqual(slidingWindowSteps([110], [64], 0.5), [[0, 23, 46]]);
  assert.deepEqual(slidingWindowSteps([40, 41], [40, 40], 0.5), [[0], [0, 1]]);
  // step 1: ceil(60 / 40) + 1 = 3 starts over [0, 60]
  assert.deepEqual(slidingWindowSteps([100], [40], 1), [[0, 30, 60]]);
  // 45 with tile 40 at step 0.1: ceil(5 / 4) + 1 = 3 starts 2.5 apart; np.round(2.5) = 2
  assert.deepEqual(slidingWindowSteps([45], [40], 0.1), [[0, 2, 5]]);
  assert.throws(() => slidingWindowSteps([30], [40], 0.5), /smaller than the tile/);
  assert.throws(() => slidingWindowSteps([50], [40], 0), /step size/);
});

test('round half to even as numpy', () => {
  assert.deepEqual([0.5, 1.5, 2.5, 3.5, 2.4999, 2.5001, 7].map(roundHalfEven), [0, 2, 2, 4, 2, 3, 7]);
});

test('sliding-window steps match the nnU-Net formula for many sizes', (t) => {
  const why = referenceUnavailable(['torch', 'scipy']);
  if (why) return t.skip(why);
  const cases: [number, number, number][] = [];
  for (const tile of [8, 20, 40, 56, 64, 96]) {
    for (const step of [0.25, 0.5, 0.7, 1]) for (let size = tile; size < tile * 4; size += 7) cases.push([size, tile, step]);
  }
  const ref = runReference(`out['steps'] = [ref_steps([s], [t], st)[0] for s, t, st in inp['cases']]`, { cases });
  assert.deepEqual(
    cases.map(([size, tile, step]) => slidingWindowSteps([size], [tile], step)[0]),
    ref.steps,
  );
});

test('padding to the tile is centred, the odd voxel after (pad_nd_image)', () => {
  assert.deepEqual(padToTile([30, 50, 31], [40, 40, 40]), { before: [5, 0, 4], after: [5, 0, 5], shape: [40, 50, 40] });
});

test('tile origins: every combination, last axis fastest', () => {
  assert.deepEqual(tileOrigins([[0, 5], [0, 2, 4]]), [[0, 0], [0, 2], [0, 4], [5, 0], [5, 2], [5, 4]]);
});

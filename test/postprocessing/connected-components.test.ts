// Connected components against scipy.ndimage.label with a full (26 / 8) structuring element, and the
// keep-the-largest postprocessing function against upstream's definition.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { labelComponents, largestComponentMask } from '../../src/postprocessing/connected-components.js';
import { removeAllButLargestComponentFromSegmentation } from '../../src/postprocessing/remove-components.js';
import { pythonUnavailable, runPython } from '../evaluation/python-ref.js';

/** Deterministic pseudo-random masks (xorshift), dense enough for components of every shape. */
function randomMask(n: number, density: number, seed: number): Uint8Array {
  let s = seed >>> 0 || 1;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = (s >>> 0) / 2 ** 32 < density ? 1 : 0;
  }
  return out;
}

const CASES: { shape: number[]; density: number; seed: number }[] = [
  { shape: [9, 11, 13], density: 0.2, seed: 1 },
  { shape: [9, 11, 13], density: 0.35, seed: 2 },
  { shape: [20, 17, 15], density: 0.1, seed: 3 },
  { shape: [1, 30, 30], density: 0.3, seed: 4 },
  { shape: [25, 31], density: 0.4, seed: 5 },
  { shape: [40], density: 0.5, seed: 6 },
  { shape: [6, 7, 8], density: 0.6, seed: 7 },
];

const scipyMissing = pythonUnavailable(['numpy', 'scipy.ndimage']);

test('labels equal scipy.ndimage.label with full connectivity on random volumes', { skip: scipyMissing ?? false }, () => {
  const input = CASES.map((c) => {
    const n = c.shape.reduce((a, b) => a * b, 1);
    return { shape: c.shape, mask: Array.from(randomMask(n, c.density, c.seed)) };
  });
  const code = `
import json, sys
import numpy as np
from scipy import ndimage
out = []
for c in json.load(sys.stdin):
    m = np.array(c['mask'], dtype=bool).reshape(c['shape'])
    lab, n = ndimage.label(m, structure=np.ones((3,) * m.ndim))
    out.append({'n': int(n), 'labels': lab.ravel().tolist()})
print(json.dumps(out))
`;
  const ref = JSON.parse(runPython(code, JSON.stringify(input))) as { n: number; labels: number[] }[];
  let components = 0;
  input.forEach((c, i) => {
    const ours = labelComponents(Uint8Array.from(c.mask), c.shape);
    assert.equal(ours.count, ref[i].n, `shape [${c.shape}]: component count`);
    // both number components by their first voxel in C order, so the label maps are equal, not only equivalent
    assert.deepEqual(Array.from(ours.labels), ref[i].labels, `shape [${c.shape}]: labels`);
    const sizes = new Array<number>(ours.count + 1).fill(0);
    for (const l of ref[i].labels) sizes[l]++;
    assert.deepEqual(Array.from(ours.sizes).slice(1), sizes.slice(1));
    components += ours.count;
  });
  assert.ok(components > 50, `the random volumes hold ${components} components`);
});

test('26-connectivity joins voxels touching only at a corner; 6-neighbour gaps split', () => {
  const mask = new Uint8Array(8);
  mask[0] = 1; // (0,0,0)
  mask[7] = 1; // (1,1,1): corner contact
  assert.equal(labelComponents(mask, [2, 2, 2]).count, 1);
  const apart = new Uint8Array(27);
  apart[0] = 1;
  apart[26] = 1; // (2,2,2): two steps away
  assert.equal(labelComponents(apart, [3, 3, 3]).count, 2);
});

test('largest component: ties keep every largest one, an empty mask stays empty', () => {
  const mask = Uint8Array.from([1, 1, 0, 1, 1, 0, 1, 0, 0]);
  assert.deepEqual(Array.from(largestComponentMask(mask, [9])), [1, 1, 0, 1, 1, 0, 0, 0, 0]);
  assert.deepEqual(Array.from(largestComponentMask(new Uint8Array(5), [5])), [0, 0, 0, 0, 0]);
});

test('remove_all_but_largest_component_from_segmentation: the labels together, others untouched, input kept', () => {
  // labels 1 and 2 touch, so together they are one component of 3 voxels; the lone 1 goes, label 3 stays
  const seg = Uint8Array.from([1, 2, 1, 0, 0, 1, 0, 3, 0, 3]);
  const copy = seg.slice();
  assert.deepEqual(Array.from(removeAllButLargestComponentFromSegmentation(seg, [10], [1, 2])), [1, 2, 1, 0, 0, 0, 0, 3, 0, 3]);
  assert.deepEqual(seg, copy);
  // per label: of label 3 the first of the two equally large components is not preferred; both stay
  assert.deepEqual(Array.from(removeAllButLargestComponentFromSegmentation(seg, [10], 3)), Array.from(seg));
  // a region (tuple) and a background value other than 0
  assert.deepEqual(Array.from(removeAllButLargestComponentFromSegmentation(seg, [10], Object.freeze([1, 2]), 9)), [1, 2, 1, 0, 0, 9, 0, 3, 0, 3]);
});

test('labeling a 128³ volume takes under 2 s', () => {
  const shape = [128, 128, 128];
  const mask = randomMask(128 ** 3, 0.3, 11);
  const t0 = performance.now();
  const r = labelComponents(mask, shape);
  const ms = performance.now() - t0;
  assert.ok(r.count > 0);
  assert.ok(ms < 2000, `${ms.toFixed(0)} ms`);
});

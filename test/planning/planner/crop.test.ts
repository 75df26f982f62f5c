import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  binaryFillHoles,
  boundingBoxOfMask,
  cropToBoundingBox,
  cropToNonzero,
  nonzeroUnion,
  voxelCount,
  type BoundingBox,
} from '../../../src/planning/crop.js';
import { SeededRandom } from '../../../src/planning/fingerprint.js';
import { referenceUnavailable, runReference } from './python-reference.js';

interface CropReference {
  filled: number[];
  bbox: BoundingBox;
  seg: number[];
}

/** Random blobs: thresholded noise leaves enclosed background pockets (holes) at these densities. */
function randomCase(rng: SeededRandom, shape: number[], density: number, margin: number) {
  const n = voxelCount(shape);
  const makeChannel = () => {
    const c = new Float32Array(n);
    const coord = new Array<number>(shape.length).fill(0);
    for (let i = 0; i < n; i++) {
      const inside = coord.every((v, d) => v >= margin && v < shape[d] - margin);
      if (inside && rng.nextBelow(1000) < density * 1000) c[i] = 1 + rng.nextBelow(50);
      for (let d = shape.length - 1; d >= 0; d--) {
        if (++coord[d] < shape[d]) break;
        coord[d] = 0;
      }
    }
    return c;
  };
  const channels = [makeChannel(), makeChannel()];
  const seg = new Uint8Array(n);
  for (let i = 0; i < n; i++) seg[i] = rng.nextBelow(4) === 0 ? rng.nextBelow(3) : 0;
  return { channels, seg };
}

test('fill holes, bbox and crop_to_nonzero match scipy / nnU-Net on random masks', (t) => {
  const why = referenceUnavailable();
  if (why) return t.skip(why);
  const rng = new SeededRandom(7);
  const cases: { shape: number[]; density: number; margin: number }[] = [
    { shape: [9, 11, 10], density: 0.55, margin: 1 },
    { shape: [8, 8, 8], density: 0.7, margin: 0 },
    { shape: [12, 7, 9], density: 0.35, margin: 2 },
    { shape: [16, 13], density: 0.6, margin: 1 },
    { shape: [1, 10, 12], density: 0.5, margin: 0 },
    { shape: [6, 6, 6], density: 0.0, margin: 0 },
  ];
  let holesSeen = 0;
  for (const { shape, density, margin } of cases) {
    const { channels, seg } = randomCase(rng, shape, density, margin);
    const ref = runReference<CropReference>('crop', {
      shape,
      channels: channels.map((c) => Array.from(c)),
      seg: Array.from(seg),
    });
    const union = nonzeroUnion(channels, shape);
    const filled = binaryFillHoles(union, shape);
    assert.deepEqual(Array.from(filled), ref.filled, `fill holes, shape ${shape}`);
    holesSeen += ref.filled.reduce((a, v, i) => a + (v === 1 && union[i] === 0 ? 1 : 0), 0);
    assert.deepEqual(boundingBoxOfMask(filled, shape), ref.bbox, `bbox, shape ${shape}`);
    const cropped = cropToNonzero(channels, shape, seg);
    assert.deepEqual(cropped.bbox, ref.bbox);
    assert.deepEqual(Array.from(cropped.seg), ref.seg, `cropped seg, shape ${shape}`);
    assert.deepEqual(cropped.shape, ref.bbox.map(([a, b]) => b - a));
  }
  assert.ok(holesSeen > 0, 'the random masks should contain holes, or fill-holes is not exercised');
});

test('a hollow cube is filled, a cube open to the border is not', () => {
  const shape = [7, 7, 7];
  const shell = new Uint8Array(343);
  const at = (z: number, y: number, x: number) => z * 49 + y * 7 + x;
  for (let z = 1; z <= 5; z++)
    for (let y = 1; y <= 5; y++)
      for (let x = 1; x <= 5; x++) if ([z, y, x].some((v) => v === 1 || v === 5)) shell[at(z, y, x)] = 1;
  const filled = binaryFillHoles(shell, shape);
  assert.equal(filled[at(3, 3, 3)], 1);
  assert.equal(filled.reduce((a, b) => a + b, 0), 125);
  // One missing face voxel lets the border background in.
  const open = shell.slice();
  open[at(1, 3, 3)] = 0;
  assert.equal(binaryFillHoles(open, shape)[at(3, 3, 3)], 0);
  // Neighbours that only share an edge do not connect: a 2D ring with diagonal corners still encloses its centre.
  const ring = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(binaryFillHoles(ring, [5, 5])[12], 1);
});

test('cropToBoundingBox copies the box in C order and keeps the array type', () => {
  const shape = [2, 3, 4];
  const data = Int16Array.from({ length: 24 }, (_, i) => i);
  const out = cropToBoundingBox(data, shape, [
    [1, 2],
    [0, 2],
    [1, 3],
  ]);
  assert.ok(out instanceof Int16Array);
  assert.deepEqual(Array.from(out), [13, 14, 17, 18]);
  assert.throws(() => cropToBoundingBox(data, shape, [[0, 3], [0, 3], [0, 4]]), /does not fit/);
});

test('an all-zero image keeps its full extent and all-background seg becomes -1', () => {
  const shape = [3, 4, 5];
  const res = cropToNonzero([new Float32Array(60)], shape, new Uint8Array(60));
  assert.deepEqual(res.bbox, [
    [0, 3],
    [0, 4],
    [0, 5],
  ]);
  assert.ok(res.seg.every((v) => v === -1));
});

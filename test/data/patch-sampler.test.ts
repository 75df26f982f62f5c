// Patch sampling as nnUNetDataLoader.get_bbox: with an ignore label (the annotated-voxel key in class_locations),
// patches that are not forced onto foreground are centred on an annotated voxel; forced ones prefer real classes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pickClass, sampleBbox, sampleSlice } from '../../src/data/patch-sampler.js';
import { Generator } from '../../src/torch/index.js';

const SHAPE = [12, 16, 16];
const PATCH = [4, 6, 6];
const ANNOTATED = '(-1, 0, 1, 2)';

/** Annotated voxels only in a small block near one corner; label 1 inside it, label 2 absent from this case. */
function sparseCase(): Record<string, number[][]> {
  const annotated: number[][] = [];
  for (let z = 8; z < 10; z++) for (let y = 1; y < 4; y++) for (let x = 11; x < 14; x++) annotated.push([z, y, x]);
  return { '1': annotated.filter(([, y]) => y === 2), '2': [], [ANNOTATED]: annotated };
}

const contains = (corner: number[], voxel: number[]): boolean => corner.every((c, d) => voxel[d] >= c && voxel[d] < c + PATCH[d]);

test('with an ignore label, every non-forced patch contains an annotated voxel', () => {
  const rng = new Generator(5);
  const locations = sparseCase();
  for (let i = 0; i < 200; i++) {
    const corner = sampleBbox(SHAPE, PATCH, locations, false, rng);
    assert.ok(locations[ANNOTATED].some((v) => contains(corner, v)), `patch at [${corner}] misses every annotated voxel`);
  }
});

test('forced patches pick a present class, the annotated key only when nothing else is present', () => {
  const rng = new Generator(6);
  const locations = sparseCase();
  for (let i = 0; i < 50; i++) assert.equal(pickClass(locations, true, rng), '1');
  assert.equal(pickClass({ '1': [], '2': [], [ANNOTATED]: [[0, 0, 0]] }, true, rng), ANNOTATED);
  assert.equal(pickClass({ '1': [], '2': [], [ANNOTATED]: [] }, true, rng), null);
  const both = new Set(Array.from({ length: 60 }, () => pickClass({ '1': [[0, 0, 0]], '2': [[1, 1, 1]], [ANNOTATED]: [[0, 0, 0]] }, true, rng)));
  assert.deepEqual([...both].sort(), ['1', '2']);
});

test('without an ignore label, or with no annotated voxel in the case, non-forced patches are uniform (draws unchanged)', () => {
  const noIgnore = { '1': [[9, 2, 12]], '2': [] };
  for (const locations of [noIgnore, { ...noIgnore, [ANNOTATED]: [] }]) {
    assert.equal(pickClass(locations, false, new Generator(1)), null);
    const a = new Generator(7);
    const b = new Generator(7);
    const corner = sampleBbox(SHAPE, PATCH, locations, false, a);
    assert.deepEqual(corner, SHAPE.map((s, d) => b.integer(0, s - PATCH[d] + 1)));
  }
});

test('2D on 3D cases: with an ignore label the non-forced slice holds annotated voxels, and so does the in-plane patch', () => {
  const rng = new Generator(8);
  const locations = sparseCase();
  for (let i = 0; i < 50; i++) {
    const { slice, locations: inPlane } = sampleSlice({ shape: SHAPE, classLocations: locations }, false, rng);
    assert.ok(slice === 8 || slice === 9, `slice ${slice}`);
    assert.deepEqual(Object.keys(inPlane), [ANNOTATED]);
    const corner = sampleBbox(SHAPE.slice(1), PATCH.slice(1), inPlane, false, rng);
    assert.ok(inPlane[ANNOTATED].some((v) => v.every((c, d) => c >= corner[d] && c < corner[d] + PATCH[d + 1])));
  }
});

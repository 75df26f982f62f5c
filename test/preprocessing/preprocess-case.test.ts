// A generated two-channel, anisotropic case with a rotated affine: transpose, crop, normalization, resampling
// shapes, class locations, and reconstruction of the input from the stored arrays and properties.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { type NiftiVolume, createHeader, readNifti, writeNifti } from '../../src/io/nifti.js';
import type { DatasetJson } from '../../src/planning/dataset-json.js';
import { computeNewShape, planExperiment } from '../../src/planning/experiment-planner.js';
import { analyzeCase, assembleFingerprint } from '../../src/planning/fingerprint.js';
import type { Plans } from '../../src/planning/plans-schema.js';
import { preprocessCase } from '../../src/preprocessing/preprocess-case.js';

// Array order [z, y, x]; the x axis has the coarse 4 mm spacing, so transpose_forward moves it first.
const SHAPE = [14, 12, 5];
const SPACING = [0.8, 1, 4];
const AFFINE = [
  [0, -1, 0, 12],
  [4, 0, 0, -30],
  [0, 0, 0.8, 7],
  [0, 0, 0, 1],
];
const BOX0 = [[2, 12], [3, 10], [1, 5]];
const BOX1 = [[3, 13], [2, 8], [1, 4]];
const UNION = [[2, 13], [2, 10], [1, 5]];

const idx = (z: number, y: number, x: number): number => (z * SHAPE[1] + y) * SHAPE[2] + x;
const inBox = (b: number[][], z: number, y: number, x: number): boolean =>
  z >= b[0][0] && z < b[0][1] && y >= b[1][0] && y < b[1][1] && x >= b[2][0] && x < b[2][1];

function volume(f: (z: number, y: number, x: number) => number): Float32Array {
  const out = new Float32Array(SHAPE[0] * SHAPE[1] * SHAPE[2]);
  for (let z = 0; z < SHAPE[0]; z++) for (let y = 0; y < SHAPE[1]; y++) for (let x = 0; x < SHAPE[2]; x++) out[idx(z, y, x)] = f(z, y, x);
  return out;
}

const ch0 = volume((z, y, x) => (inBox(BOX0, z, y, x) ? 50 + 10 * Math.sin(z * 0.7 + y) + 3 * x : 0));
const ch1 = volume((z, y, x) => (inBox(BOX1, z, y, x) ? -200 + 40 * Math.cos(y * 0.5) + 25 * z + 7 * x : 0));
const labels = volume((z, y, x) => (inBox([[4, 8], [4, 7], [2, 4]], z, y, x) ? 1 : inBox([[8, 11], [5, 9], [1, 3]], z, y, x) ? 2 : 0));
const datasetJson: Pick<DatasetJson, 'labels' | 'channel_names' | 'numTraining' | 'file_ending'> = {
  channel_names: { '0': 'MR', '1': 'CT' },
  labels: { background: 0, first: 1, second: 2 },
  numTraining: 1,
  file_ending: '.nii.gz',
};

let dir: string;
let images: NiftiVolume[];
let seg: NiftiVolume;
let plans: Plans;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'pp-case-'));
  const write = async (name: string, data: Float32Array, dtype: 'float32' | 'uint8'): Promise<NiftiVolume> => {
    const file = path.join(dir, name);
    await writeNifti(file, data, SHAPE, createHeader({ shape: SHAPE, affine: AFFINE, dtype }), { dtype });
    return readNifti(file);
  };
  images = [await write('c_0000.nii.gz', ch0, 'float32'), await write('c_0001.nii.gz', ch1, 'float32')];
  seg = await write('c.nii.gz', labels, 'uint8');
  const fingerprint = assembleFingerprint([analyzeCase(images, seg, 1000, 1234)], 2);
  plans = planExperiment(fingerprint, datasetJson, { datasetName: 'Dataset999_Synthetic' });
});
after(() => rm(dir, { recursive: true, force: true }));

test('the written volumes have the intended geometry', () => {
  assert.deepEqual(images[0].shape, SHAPE);
  images[0].spacing.forEach((s, i) => assert.ok(Math.abs(s - SPACING[i]) < 1e-6));
  assert.deepEqual(plans.transpose_forward, [2, 0, 1]);
});

test('no resampling (3d_fullres at the native spacing): the input is reconstructed exactly from data, seg and properties', () => {
  const r = preprocessCase(images, seg, plans, '3d_fullres', datasetJson);
  const p = r.properties;
  assert.deepEqual(p.spacing.map((s) => +s.toFixed(6)), SPACING);
  assert.deepEqual(p.shape_before_cropping, [5, 14, 12]);
  assert.deepEqual(p.bbox_used_for_cropping, [UNION[2], UNION[0], UNION[1]]);
  assert.deepEqual(p.shape_after_cropping_and_before_resampling, [4, 11, 8]);
  assert.deepEqual(r.shape, [2, 4, 11, 8]);
  assert.deepEqual(JSON.parse(JSON.stringify(p.nifti_header)), JSON.parse(JSON.stringify(images[0].header)));
  assert.ok(r.seg instanceof Int8Array);

  // Undo crop and transpose: stored (x', z', y') index -> raw (z, y, x).
  const [bx, bz, by] = p.bbox_used_for_cropping;
  const [, sx, sz, sy] = r.shape;
  const at = (c: number, z: number, y: number, x: number): number => ((c * sx + (x - bx[0])) * sz + (z - bz[0])) * sy + (y - by[0]);
  // Expected normalization: channel 0 z-scored over the nonzero mask (use_mask_for_norm, cropping kept < 75%),
  // channel 1 CT-normalized with the fingerprint statistics.
  const cfg = plans.configurations['3d_fullres'];
  assert.deepEqual(cfg.use_mask_for_norm, [true, false]);
  const inside: number[] = [];
  for (let z = 0; z < SHAPE[0]; z++) for (let y = 0; y < SHAPE[1]; y++) for (let x = 0; x < SHAPE[2]; x++) {
    if (inBox(BOX0, z, y, x) || inBox(BOX1, z, y, x)) inside.push(ch0[idx(z, y, x)]);
  }
  const mean = inside.reduce((a, b) => a + b, 0) / inside.length;
  const std = Math.sqrt(inside.reduce((a, b) => a + (b - mean) ** 2, 0) / inside.length);
  const ct = plans.foreground_intensity_properties_per_channel['1'];
  for (let z = 0; z < SHAPE[0]; z++) for (let y = 0; y < SHAPE[1]; y++) for (let x = 0; x < SHAPE[2]; x++) {
    const label = labels[idx(z, y, x)];
    if (!inBox(UNION, z, y, x)) {
      assert.equal(label, 0);
      continue;
    }
    const masked = inBox(BOX0, z, y, x) || inBox(BOX1, z, y, x);
    assert.equal(r.seg[at(0, z, y, x)], masked ? label : -1);
    const z0 = masked ? (ch0[idx(z, y, x)] - mean) / std : 0;
    assert.ok(Math.abs(r.data[at(0, z, y, x)] - z0) < 1e-4);
    const c1 = (Math.min(Math.max(ch1[idx(z, y, x)], ct.percentile_00_5), ct.percentile_99_5) - ct.mean) / Math.max(ct.std, 1e-8);
    assert.ok(Math.abs(r.data[at(1, z, y, x)] - c1) < 1e-4);
  }
  // 24 and 24 voxels: all of them are kept, each once, each pointing at its label.
  for (const [key, count] of [['1', 24], ['2', 24]] as const) {
    const locs = p.class_locations[key];
    assert.equal(locs.length, count);
    assert.equal(new Set(locs.map((l) => l.join())).size, count);
    for (const [a, b, c] of locs) assert.equal(r.seg[(a * sz + b) * sy + c], Number(key));
  }
});

test('anisotropic target: separate-z resampling gives the planned shape and spacing; 2d keeps the slice axis', () => {
  // Target spacing in fingerprint order [z, y, x]; after transpose [3.0, 1.2, 0.9].
  const coarse = planExperiment(assembleFingerprint([analyzeCase(images, seg, 1000, 1234)], 2), datasetJson, {
    datasetName: 'Dataset999_Synthetic',
    overwriteTargetSpacing: [1.2, 0.9, 3],
  });
  const r = preprocessCase(images, seg, coarse, '3d_fullres', datasetJson);
  const expected = computeNewShape([4, 11, 8], [4, 0.8, 1], [3, 1.2, 0.9]);
  assert.deepEqual(expected, [5, 7, 9]);
  assert.deepEqual(r.shape, [2, ...expected]);
  assert.equal(r.data.length, 2 * 5 * 7 * 9);
  assert.equal(r.seg?.length, 5 * 7 * 9);
  assert.deepEqual(r.properties.shape_after_cropping_and_before_resampling, [4, 11, 8]);
  const seen = new Set(Array.from(r.seg ?? []));
  assert.deepEqual([...seen].sort(), [-1, 0, 1, 2]);
  for (const [key, locs] of Object.entries(r.properties.class_locations)) {
    assert.ok(locs.length > 0);
    for (const [a, b, c] of locs) assert.equal(r.seg?.[(a * 7 + b) * 9 + c], Number(key));
  }

  const twoD = preprocessCase(images, seg, coarse, '2d', datasetJson);
  // 2d resamples in-plane only: the first (transposed) axis keeps its 4 slices.
  assert.deepEqual(twoD.shape, [2, 4, ...computeNewShape([11, 8], [0.8, 1], coarse.configurations['2d'].spacing as number[])]);
});

test('without a segmentation (images to predict) seg is null and there are no class locations', () => {
  const r = preprocessCase(images, null, plans, '3d_fullres', datasetJson);
  assert.equal(r.seg, null);
  assert.deepEqual(r.properties.class_locations, {});
  assert.deepEqual(r.shape, [2, 4, 11, 8]);
});

test('with an ignore label the annotated voxels (-1 included, the ignore label not) are collected under "(-1, 0, 1, 2)"', async () => {
  // a block of background becomes unannotated
  const sparse = labels.map((v, i) => {
    const z = Math.floor(i / (SHAPE[1] * SHAPE[2]));
    const y = Math.floor(i / SHAPE[2]) % SHAPE[1];
    const x = i % SHAPE[2];
    return v === 0 && inBox([[2, 9], [3, 10], [1, 5]], z, y, x) ? 3 : v;
  });
  const file = path.join(dir, 'c_sparse.nii.gz');
  await writeNifti(file, sparse, SHAPE, createHeader({ shape: SHAPE, affine: AFFINE, dtype: 'uint8' }), { dtype: 'uint8' });
  const withIgnore = { ...datasetJson, labels: { background: 0, first: 1, second: 2, ignore: 3 } };
  const r = preprocessCase(images, await readNifti(file), plans, '3d_fullres', withIgnore);
  const stored = Array.from(r.seg ?? []);
  const [, , sz, sy] = r.shape;
  const locs = r.properties.class_locations;
  assert.deepEqual(Object.keys(locs).sort(), ['(-1, 0, 1, 2)', '1', '2']);
  const annotated = stored.filter((v) => v !== 3).length;
  assert.ok(stored.includes(3) && stored.includes(-1) && annotated < 10000);
  // fewer than 10000 annotated voxels: every one is listed, once, and none is ignored
  const key = locs['(-1, 0, 1, 2)'];
  assert.equal(key.length, annotated);
  assert.equal(new Set(key.map((l) => l.join())).size, annotated);
  for (const [a, b, c] of key) assert.notEqual(stored[(a * sz + b) * sy + c], 3);
  assert.ok(key.some(([a, b, c]) => stored[(a * sz + b) * sy + c] === -1));
});

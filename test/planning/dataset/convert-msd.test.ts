import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { UserError } from '../../../src/errors.js';
import { readNifti } from '../../../src/io/nifti.js';
import { convertMsd } from '../../../src/planning/convert-msd.js';
import { assertDatasetIntegrity } from '../../../src/planning/verify-dataset.js';
import { pythonUnavailable, runPython } from '../../io/reference-python.js';
import { writeJson, writeVolume } from './synthetic.js';

const noNibabel = pythonUnavailable(['numpy', 'nibabel']);
const tmp = await mkdtemp(path.join(tmpdir(), 'msd-test-'));
test.after(() => rm(tmp, { recursive: true, force: true }));

/** An oblique, anisotropic voxel grid, so that a lost or transposed geometry would show. */
const AFFINE = [
  [0, -0.8, 0, 12.5],
  [1.2, 0, 0, -40],
  [0, 0, 3, 7],
  [0, 0, 0, 1],
];
const SPATIAL = [3, 4, 5];

/** Two-modality 4D image [2, z, y, x] whose channel c holds 1000 * c + voxel index. */
const fourD = (seed: number): Int16Array => Int16Array.from({ length: 120 }, (_, i) => 1000 * Math.floor(i / 60) + (i % 60) + seed);

async function buildTask(root: string): Promise<string> {
  const task = path.join(root, 'Task09_Tiny');
  await writeJson(path.join(task, 'dataset.json'), {
    name: 'Tiny',
    description: 'two-modality test task',
    tensorImageSize: '4D',
    modality: { '0': 'FLAIR', '1': 'T1w' },
    labels: { '0': 'background', '1': 'edema', '2': 'tumour' },
    numTraining: 2,
    numTest: 1,
    training: [
      { image: './imagesTr/tiny_001.nii.gz', label: './labelsTr/tiny_001.nii.gz' },
      { image: './imagesTr/tiny_002.nii.gz', label: './labelsTr/tiny_002.nii.gz' },
    ],
    test: ['./imagesTs/tiny_003.nii.gz'],
  });
  for (const [dir, id, seed] of [
    ['imagesTr', 'tiny_001', 0],
    ['imagesTr', 'tiny_002', 7],
    ['imagesTs', 'tiny_003', 3],
  ] as const) {
    await writeVolume(path.join(task, dir, `${id}.nii.gz`), fourD(seed), { shape: [2, ...SPATIAL], dtype: 'int16', affine: AFFINE });
  }
  for (const id of ['tiny_001', 'tiny_002']) {
    const seg = Uint8Array.from({ length: 60 }, (_, i) => i % 3);
    await writeVolume(path.join(task, 'labelsTr', `${id}.nii.gz`), seg, { dtype: 'uint8', affine: AFFINE });
  }
  // macOS copies leave "._" resource forks next to the files; nnU-Net skips them.
  await writeFile(path.join(task, 'imagesTr', '._tiny_001.nii.gz'), 'junk');
  await writeFile(path.join(task, 'labelsTr', '._tiny_001.nii.gz'), 'junk');
  return task;
}

test('convertMsd splits 4D two-modality images into channels, copies labels and writes a v2 dataset.json', async () => {
  const task = await buildTask(tmp);
  const raw = path.join(tmp, 'nnUNet_raw');
  const result = await convertMsd(task, raw);
  const dir = path.join(raw, 'Dataset009_Tiny');
  assert.deepEqual(result, { datasetName: 'Dataset009_Tiny', datasetDir: dir, numTrainingImages: 2, numTestImages: 1 });

  assert.deepEqual((await readdir(raw)).sort(), ['Dataset009_Tiny'], 'no staging folder left behind');
  assert.deepEqual((await readdir(path.join(dir, 'imagesTr'))).sort(), ['tiny_001_0000.nii.gz', 'tiny_001_0001.nii.gz', 'tiny_002_0000.nii.gz', 'tiny_002_0001.nii.gz']);
  assert.deepEqual((await readdir(path.join(dir, 'imagesTs'))).sort(), ['tiny_003_0000.nii.gz', 'tiny_003_0001.nii.gz']);
  assert.deepEqual((await readdir(path.join(dir, 'labelsTr'))).sort(), ['tiny_001.nii.gz', 'tiny_002.nii.gz']);

  const source = await readNifti(path.join(task, 'imagesTr', 'tiny_002.nii.gz'));
  for (const c of [0, 1]) {
    const ch = await readNifti(path.join(dir, 'imagesTr', `tiny_002_000${c}.nii.gz`));
    assert.deepEqual(ch.shape, SPATIAL);
    assert.ok(ch.data instanceof Int16Array);
    assert.deepEqual([...ch.data], [...source.data.subarray(c * 60, (c + 1) * 60)]);
    assert.deepEqual(ch.affine, source.affine);
  }
  const labelBytes = await readFile(path.join(dir, 'labelsTr', 'tiny_001.nii.gz'));
  assert.ok(labelBytes.equals(await readFile(path.join(task, 'labelsTr', 'tiny_001.nii.gz'))), 'labels copied byte for byte');

  const json = JSON.parse(await readFile(path.join(dir, 'dataset.json'), 'utf8'));
  assert.deepEqual(json, {
    name: 'Tiny',
    description: 'two-modality test task',
    tensorImageSize: '4D',
    numTraining: 2,
    numTest: 1,
    channel_names: { '0': 'FLAIR', '1': 'T1w' },
    labels: { background: 0, edema: 1, tumour: 2 },
    file_ending: '.nii.gz',
  });
  const report = await assertDatasetIntegrity(dir);
  assert.equal(report.numCasesChecked, 2);
});

test('nibabel sees each converted channel as the 4D source volume [..., c] with the source affine', async (t) => {
  if (noNibabel) return t.skip(noNibabel);
  const task = path.join(tmp, 'Task09_Tiny');
  const dir = path.join(tmp, 'nnUNet_raw', 'Dataset009_Tiny');
  if (!existsSync(dir)) return t.skip('conversion test did not run');
  const ok = runPython<boolean[]>(
    `
import sys, json, nibabel as nib, numpy as np
src = nib.load(sys.argv[1]); out = []
for c, f in enumerate(sys.argv[2:]):
    ch = nib.load(f)
    out.append(bool(np.array_equal(np.asarray(ch.dataobj), np.asarray(src.dataobj)[..., c]) and np.allclose(ch.affine, src.affine, atol=1e-6)))
print(json.dumps(out))`,
    [path.join(task, 'imagesTr', 'tiny_001.nii.gz'), path.join(dir, 'imagesTr', 'tiny_001_0000.nii.gz'), path.join(dir, 'imagesTr', 'tiny_001_0001.nii.gz')],
  );
  assert.deepEqual(ok, [true, true]);
});

test('convertMsd refuses a taken id, honours an override id, and rejects non-MSD input', async () => {
  const root = path.join(tmp, 'second');
  const task = await buildTask(root);
  const raw = path.join(root, 'raw');
  await convertMsd(task, raw);
  await assert.rejects(convertMsd(task, raw), (err: unknown) => {
    assert.ok(err instanceof UserError);
    assert.match(err.message, /dataset id 9 is already taken by Dataset009_Tiny/);
    return true;
  });
  const result = await convertMsd(task, raw, 201);
  assert.equal(result.datasetName, 'Dataset201_Tiny');
  await assertDatasetIntegrity(result.datasetDir);

  await assert.rejects(convertMsd(path.join(root, 'raw'), raw, 300), /must be named TaskXX_Name/);
  const v2 = path.join(root, 'Task10_Wrong');
  await writeJson(path.join(v2, 'dataset.json'), { channel_names: { '0': 'CT' }, labels: { background: 0 } });
  await assert.rejects(convertMsd(v2, raw), /Task10_Wrong\/dataset\.json: not an MSD dataset\.json\n✖ .*\n  → at modality/);
});

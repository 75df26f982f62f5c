import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { UserError } from '../../../src/errors.js';
import { createHeader, type NiftiHeader } from '../../../src/io/nifti.js';
import {
  caseGeometryFindings,
  checkTrainingGeometry,
  compareGeometry,
  geometryProblem,
  readNiftiHeader,
  type GeometrySource,
} from '../../../src/planning/geometry-check.js';
import { affineFor, image, label, writeVolume } from './synthetic.js';

const tmp = await mkdtemp(path.join(tmpdir(), 'geometry-test-'));
test.after(() => rm(tmp, { recursive: true, force: true }));

/** Array shape [z, y, x] = [10, 20, 30], 1 mm voxels: the far corner lies at (29, 19, 9) mm from voxel 0. */
const SHAPE = [10, 20, 30];
const source = (name: string, affine: number[][]): GeometrySource => ({ path: name, header: createHeader({ shape: SHAPE, affine, dtype: 'uint8' }) });
const base = (): number[][] => affineFor({ spacing: [1, 1, 1], origin: [5, -7, 3] });

/** `affine` with its 3x3 part rotated about z by `deg`, around voxel 0 (the origin stays). */
function rotatedZ(affine: number[][], deg: number): number[][] {
  const t = (deg * Math.PI) / 180;
  const r = [
    [Math.cos(t), -Math.sin(t), 0],
    [Math.sin(t), Math.cos(t), 0],
    [0, 0, 1],
  ];
  return affine.map((row, i) => (i < 3 ? [...[0, 1, 2].map((c) => r[i].reduce((s, v, k) => s + v * affine[k][c], 0)), row[3]] : [...row]));
}

function moved(affine: number[][], column: number, by: number[]): number[][] {
  return affine.map((row, i) => row.map((v, c) => (c === column && i < 3 ? v + by[i] : v)));
}

test('identical geometry, or one within np.allclose, is no finding', () => {
  assert.equal(compareGeometry(source('img', base()), source('seg', base()), 'label'), null);
  assert.equal(compareGeometry(source('img', base()), source('seg', moved(base(), 3, [1e-6, 0, 0])), 'label'), null);
  // a different array shape is the shape check's to report
  const other: GeometrySource = { path: 'seg', header: createHeader({ shape: [10, 20, 31], affine: moved(base(), 3, [10, 0, 0]), dtype: 'uint8' }) };
  assert.equal(compareGeometry(source('img', base()), other, 'label'), null);
});

test('an origin offset is measured along each image axis against half the spacing', () => {
  const far = compareGeometry(source('img', base()), source('seg', moved(base(), 3, [10, 0, 0])), 'label');
  assert.ok(far);
  assert.equal(far.maxShiftVoxels, 10);
  // RAS +10 mm in x is LPS -10 mm, as SimpleITK reports origins
  assert.deepEqual(far.differences, ['origin off by [-10, 0, 0] mm (LPS x, y, z), 10 voxels']);
  const refused = geometryProblem(far, false);
  assert.equal(refused.severity, 'error');
  assert.equal(refused.file, 'seg');
  assert.match(refused.message, /^label geometry differs from img: origin off by \[-10, 0, 0\] mm .*more than half a voxel.*Resample the label onto the grid of img.*--allow-geometry-mismatch/);
  assert.equal(geometryProblem(far, true).severity, 'warning');

  const near = compareGeometry(source('img', base()), source('seg', moved(base(), 3, [0, 0, 0.2])), 'label');
  assert.ok(near);
  assert.ok(Math.abs(near.maxShiftVoxels - 0.2) < 1e-6);
  const warned = geometryProblem(near, false);
  assert.equal(warned.severity, 'warning');
  assert.match(warned.message, /origin off by \[0, 0, 0\.2\] mm \(LPS x, y, z\), 0\.2 voxels; within half a voxel/);

  // 0.6 mm at 2 mm spacing along z is 0.3 voxels: a warning, where the same offset in x (1 mm voxels) is refused
  const coarse = affineFor({ spacing: [1, 1, 2], origin: [0, 0, 0] });
  assert.equal(geometryProblem(compareGeometry(source('img', coarse), source('seg', moved(coarse, 3, [0, 0, 0.6])), 'label')!, false).severity, 'warning');
  assert.equal(geometryProblem(compareGeometry(source('img', coarse), source('seg', moved(coarse, 3, [0.6, 0, 0])), 'label')!, false).severity, 'error');
});

test('a rotation is measured at the far corners of the image; a flip is refused', () => {
  // 1.5° about z moves the corner 29 mm along x from voxel 0 by 29 × sin(1.5°) = 0.76 mm along y; 0.2° by 0.1 mm
  const big = compareGeometry(source('img', base()), source('seg', rotatedZ(base(), 1.5)), 'label');
  assert.ok(big);
  assert.ok(Math.abs(big.maxShiftVoxels - 29 * Math.sin((1.5 * Math.PI) / 180)) < 1e-5, `${big.maxShiftVoxels}`);
  assert.equal(big.differences.length, 1);
  assert.match(big.differences[0], /^direction differs by \[\[0\.000342\d, 0\.0261\d, 0\], \[-0\.0261\d, 0\.000342\d, 0\], \[0, 0, 0\]\] \(a 1\.5° rotation\), 0\.759 voxels at the far corners$/);
  assert.equal(geometryProblem(big, false).severity, 'error');

  const small = compareGeometry(source('img', base()), source('seg', rotatedZ(base(), 0.2)), 'label');
  assert.ok(small && small.maxShiftVoxels < 0.15);
  assert.match(small.differences[0], /\(a 0\.2° rotation\)/);
  assert.equal(geometryProblem(small, false).severity, 'warning');

  const flipped = compareGeometry(source('img', base()), source('seg', affineFor({ spacing: [1, 1, 1], origin: [5, -7, 3], flipX: true })), 'label');
  assert.ok(flipped);
  assert.equal(flipped.maxShiftVoxels, 58); // voxel 29 lands on -29: 58 voxels away
  assert.match(flipped.differences[0], /^direction differs by \[\[2, 0, 0\], \[0, 0, 0\], \[0, 0, 0\]\] \(a mirror flip\)/);
});

test('a spacing difference is measured at the far corner', () => {
  // z: 10 voxels, so the far corner (index 9) moves by 9 × Δspacing
  const big = compareGeometry(source('img', base()), source('seg', moved(base(), 2, [0, 0, 0.06])), 'label');
  assert.ok(big);
  assert.match(big.differences[0], /^spacing \[1, 1, 1\.06\] vs \[1, 1, 1\] mm \(x, y, z\), 0\.54 voxels at the far corner$/);
  assert.equal(geometryProblem(big, false).severity, 'error');
  const small = compareGeometry(source('img', base()), source('seg', moved(base(), 2, [0, 0, 0.02])), 'label');
  assert.ok(small);
  assert.equal(geometryProblem(small, false).severity, 'warning');
});

test('differences add up: two that are each within half a voxel can together exceed it', () => {
  const both = compareGeometry(source('img', base()), source('seg', moved(moved(base(), 3, [0, 0, 0.3]), 2, [0, 0, 0.03])), 'label');
  assert.ok(both);
  assert.equal(both.differences.length, 2);
  assert.ok(Math.abs(both.maxShiftVoxels - 0.57) < 1e-5, `${both.maxShiftVoxels}`);
  const p = geometryProblem(both, false);
  assert.equal(p.severity, 'error');
  assert.match(p.message, /together they move voxel centres by up to 0\.57 voxels: more than half a voxel/);
});

test('channels are compared with channel 0, and the label with a channel that differs', () => {
  const img0 = source('c0', base());
  const img1 = source('c1', moved(base(), 3, [3, 0, 0]));
  const seg = source('seg', base());
  const findings = caseGeometryFindings([img0, img1], seg);
  assert.deepEqual(
    findings.map((f) => [f.role, f.file, f.reference, f.maxShiftVoxels]),
    [
      ['channel 1', 'c1', 'c0', 3],
      ['label', 'seg', 'c1', 3],
    ],
  );
  assert.deepEqual(caseGeometryFindings([img0, source('c1', base())], seg), []);
});

test('readNiftiHeader reads only the header, of .nii and .nii.gz, and names a broken file', async () => {
  const affine = affineFor({ origin: [1, 2, 3] });
  for (const name of ['h.nii', 'h.nii.gz']) {
    const file = path.join(tmp, name);
    await writeVolume(file, image(), { affine });
    const header: NiftiHeader = await readNiftiHeader(file);
    assert.deepEqual(header.dims, [5, 4, 3]);
    assert.deepEqual(header.srow, affine.slice(0, 3));
  }
  // the voxels need not be there: a file cut right after its header still gives the header
  const full = await readFile(path.join(tmp, 'h.nii'));
  await writeFile(path.join(tmp, 'cut.nii'), full.subarray(0, 360));
  assert.deepEqual((await readNiftiHeader(path.join(tmp, 'cut.nii'))).dims, [5, 4, 3]);
  await writeFile(path.join(tmp, 'junk.nii.gz'), 'not a NIfTI file at all, and long enough to hold a header'.repeat(10));
  await assert.rejects(readNiftiHeader(path.join(tmp, 'junk.nii.gz')), (e: unknown) => e instanceof UserError && e.message.startsWith(`${path.join(tmp, 'junk.nii.gz')}: `));
});

test('checkTrainingGeometry warns below half a voxel and refuses beyond it, listing every refused file', async () => {
  const dir = path.join(tmp, 'cases');
  const write = async (id: string, labelAffine: number[][]) => {
    await writeVolume(path.join(dir, `${id}_0000.nii.gz`), image());
    await writeVolume(path.join(dir, `${id}.nii.gz`), label(), { dtype: 'uint8', affine: labelAffine });
    return { identifier: id, images: [path.join(dir, `${id}_0000.nii.gz`)], label: path.join(dir, `${id}.nii.gz`) };
  };
  const cases = [
    await write('ok', affineFor()),
    await write('near', affineFor({ origin: [10.2, -20, 30] })),
    await write('far', affineFor({ origin: [20, -20, 30] })),
  ];
  const warnings: string[] = [];
  await assert.rejects(checkTrainingGeometry(cases, { onWarning: (w) => warnings.push(w) }), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.match(e.message, /^geometry mismatch beyond half a voxel in 1 file\(s\):\nerror: .*far\.nii\.gz: label geometry differs from .*far_0000\.nii\.gz: origin off by \[-10, 0, 0\] mm/);
    assert.doesNotMatch(e.message, /near/);
    return true;
  });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /^warning: .*near\.nii\.gz: label geometry differs from .*near_0000\.nii\.gz: origin off by \[-0\.2, 0, 0\] mm/);

  warnings.length = 0;
  const problems = await checkTrainingGeometry(cases, { allowMismatch: true, onWarning: (w) => warnings.push(w) });
  assert.deepEqual(problems.map((p) => [path.basename(p.file), p.severity]), [['near.nii.gz', 'warning'], ['far.nii.gz', 'warning']]);
  assert.match(warnings[1], /far\.nii\.gz: .*more than half a voxel; the voxel arrays are used as they are \(--allow-geometry-mismatch\)/);
});

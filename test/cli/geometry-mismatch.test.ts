// A label whose header puts it elsewhere than its image, through the real CLI: refused beyond half a voxel (origin,
// direction, spacing) unless --allow-geometry-mismatch, a warning below, on every fingerprint run.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { generateSyntheticDataset } from '../../src/cli/demo/synthetic-dataset.js';
import { createHeader, readNifti, writeNifti } from '../../src/io/nifti.js';
import { type CliResult, outputOf, runCli } from './cli-process.js';

const root = mkdtempSync(path.join(tmpdir(), 'nnunet-cli-geometry-'));
after(() => rmSync(root, { recursive: true, force: true }));

type Affine = number[][];
/** Moves voxel 0 by `by` mm (RAS). */
const shifted = (by: number[]) => (a: Affine): Affine => a.map((row, r) => row.map((v, c) => (c === 3 && r < 3 ? v + by[r] : v)));
/** Rotates the voxel axes about the world z axis by `deg`, around voxel 0. */
const rotated = (deg: number) => (a: Affine): Affine => {
  const [c, s] = [Math.cos((deg * Math.PI) / 180), Math.sin((deg * Math.PI) / 180)];
  const rot = [[c, -s, 0], [s, c, 0], [0, 0, 1]];
  return a.map((row, r) => (r < 3 ? row.map((v, k) => (k < 3 ? rot[r].reduce((sum, x, i) => sum + x * a[i][k], 0) : v)) : [...row]));
};
/** Scales the spacing of the array's first axis (z, the affine's third column). */
const zSpacingTimes = (f: number) => (a: Affine): Affine => a.map((row, r) => row.map((v, c) => (c === 2 && r < 3 ? v * f : v)));

/** Rewrites a label's header with `change` applied to its affine; the voxels stay as they are. */
async function relabel(file: string, change: (a: Affine) => Affine): Promise<void> {
  const seg = await readNifti(file);
  await writeNifti(file, seg.data, seg.shape, createHeader({ shape: seg.shape, affine: change(seg.affine), dtype: 'uint8' }));
}

/**
 * A tiny generated dataset of 3 cases (1 mm voxels, rotated affines) whose labels get the geometry changes given per
 * case (synth_001, synth_002, ...). Returns each case's image and label file and the CLI's folder flags.
 */
async function dataset(id: number, changes: ((a: Affine) => Affine)[]) {
  const raw = path.join(root, `raw${id}`);
  const ds = await generateSyntheticDataset({ rawDir: raw, datasetId: id, shape: [6, 10, 10], spacing: [1, 1, 1], numTraining: 3, numTest: 0 });
  const files = [1, 2, 3].map((i) => {
    const c = `synth_00${i}`;
    return { image: path.join(ds.datasetDir, 'imagesTr', `${c}_0000.nii.gz`), label: path.join(ds.datasetDir, 'labelsTr', `${c}.nii.gz`), id: c };
  });
  for (const [i, change] of changes.entries()) await relabel(files[i].label, change);
  const preprocessed = path.join(root, `preprocessed${id}`);
  mkdirSync(preprocessed, { recursive: true });
  const output = path.join(preprocessed, ds.datasetName, 'nnUNetPlans_3d_fullres');
  return { files, preprocessed, output, flags: ['-d', String(id), '--raw', raw, '--preprocessed', preprocessed, '--no-progress'] };
}

function assertRefused(r: CliResult, pattern: RegExp): void {
  assert.equal(r.code, 1, outputOf(r));
  assert.doesNotMatch(r.stderr, /^ {4}at /m, `no stack trace: ${outputOf(r)}`);
  assert.match(r.stderr, /^nnunet: /m, outputOf(r));
  assert.match(r.stderr, pattern, outputOf(r));
}

/** The one stderr line about `file` (an `error: ` or `warning: ` line). */
function lineAbout(r: CliResult, file: string): string {
  const lines = r.stderr.split('\n').filter((l) => l.includes(`${file}: `));
  assert.equal(lines.length, 1, `one line about ${file}: ${outputOf(r)}`);
  return lines[0];
}

const mtimes = (folder: string): Record<string, number> => Object.fromEntries(readdirSync(folder).map((f) => [f, statSync(path.join(folder, f)).mtimeMs]));
const refusedLine = /more than half a voxel, so the voxels do not line up\. Resample the label onto the grid of .*--allow-geometry-mismatch$/;
const full = ['-c', '3d_fullres', '--num-processes', '1'];

test('geometry beyond half a voxel is refused naming both files; below half a voxel or with --allow-geometry-mismatch it warns and goes on', { timeout: 170_000 }, async () => {
  // 0.2 mm, 0.3° (about 0.07 mm at the far corners), z spacing 1.05 mm (0.25 mm at the far corner)
  const warned = await dataset(72, [shifted([0, 0.2, 0]), rotated(0.3), zSpacingTimes(1.05)]);
  // origin 10 mm off, a 10° rotation (the far corners move by about 2 mm), z spacing 1.5 mm (2.5 mm at the far corner)
  const refused = await dataset(71, [shifted([10, 0, 0]), rotated(10), zSpacingTimes(1.5)]);

  // Two cores: the one full pipeline (its fingerprint is the slow part) beside the refusals, which stop at the headers.
  const [[near, far, allowed, farMtimes], [plain, verified, fingerprintOnly]] = await Promise.all([
    (async () => {
      const near = await runCli(['plan-and-preprocess', ...warned.flags, ...full], { timeoutMs: 150_000 });
      assert.equal(near.code, 0, outputOf(near));
      // the same dataset with synth_001's label 10 mm further off: refused though the fingerprint exists (checked every run)
      const before = mtimes(warned.output);
      await relabel(warned.files[0].label, shifted([10, 0, 0]));
      const far = await runCli(['plan-and-preprocess', ...warned.flags, ...full]);
      const farMtimes = [before, mtimes(warned.output)];
      const allowed = await runCli(['plan-and-preprocess', ...warned.flags, ...full, '--allow-geometry-mismatch']);
      return [near, far, allowed, farMtimes] as const;
    })(),
    (async () => {
      const results: CliResult[] = [];
      for (const args of [
        ['plan-and-preprocess', ...refused.flags, ...full],
        ['plan-and-preprocess', ...refused.flags, ...full, '--verify-dataset-integrity'],
        ['extract-fingerprint', ...refused.flags],
      ]) {
        results.push(await runCli(args));
      }
      return results;
    })(),
  ]);

  // Below half a voxel: one warning line per label, naming it, its image and the difference; every case preprocessed.
  const warnings = warned.files.map((f) => lineAbout(near, f.label));
  warned.files.forEach((f, i) => assert.match(warnings[i], new RegExp(`^warning: ${f.label}: label geometry differs from ${f.image}: .*; within half a voxel, so the voxel arrays are used as they are$`)));
  assert.match(warnings[0], /origin off by \[0, -0\.2, 0\] mm \(LPS x, y, z\), 0\.\d+ voxels/);
  assert.match(warnings[1], /\(a 0\.3° rotation\), 0\.0\d+ voxels at the far corners/);
  assert.match(warnings[2], /spacing \[1, 1, 1\.05\] vs \[1, 1, 1\] mm \(x, y, z\), 0\.25 voxels at the far corner/);
  for (const f of warned.files) assert.ok(existsSync(path.join(warned.output, `${f.id}_seg.npy`)), `${f.id} preprocessed: ${outputOf(near)}`);

  // 10 mm off: refused, exit 1, nothing preprocessed again.
  assertRefused(far, /^nnunet: geometry mismatch beyond half a voxel in 1 file\(s\):$/m);
  const c1 = warned.files[0];
  assert.match(lineAbout(far, c1.label), new RegExp(`^error: ${c1.label}: label geometry differs from ${c1.image}: origin off by \\[-10, -0\\.2, 0\\] mm \\(LPS x, y, z\\), 9\\.\\d+ voxels: `));
  assert.match(lineAbout(far, c1.label), refusedLine);
  assert.deepEqual(farMtimes[1], farMtimes[0], 'the preprocessed files are untouched');

  // --allow-geometry-mismatch: a warning naming both files instead, and the run completes (the cases done before
  // are kept: their preprocessing hash matches, and the label's voxels have not changed).
  assert.equal(allowed.code, 0, outputOf(allowed));
  assert.match(allowed.stdout, /Dataset072_Synthetic: planned .*; preprocessed 3d_fullres/);
  assert.match(lineAbout(allowed, c1.label), new RegExp(`^warning: ${c1.label}: label geometry differs from ${c1.image}: origin off by .*more than half a voxel; the voxel arrays are used as they are \\(--allow-geometry-mismatch\\)$`));

  // Origin, direction and spacing each beyond half a voxel: one line per label naming it and its image; nothing written.
  assertRefused(plain, /^nnunet: geometry mismatch beyond half a voxel in 3 file\(s\):$/m);
  const [origin, direction, spacing] = refused.files.map((f) => lineAbout(plain, f.label));
  refused.files.forEach((f, i) => assert.ok([origin, direction, spacing][i].startsWith(`error: ${f.label}: label geometry differs from ${f.image}: `), outputOf(plain)));
  assert.match(origin, /: origin off by \[-10, 0, 0\] mm \(LPS x, y, z\), 9\.\d+ voxels: /);
  assert.match(direction, /: direction differs by \[\[.*\]\] \(a 10° rotation\), 1\.\d+ voxels at the far corners: /);
  assert.match(spacing, /: spacing \[1, 1, 1\.5\] vs \[1, 1, 1\] mm \(x, y, z\), 2\.5 voxels at the far corner: /);
  for (const line of [origin, direction, spacing]) assert.match(line, refusedLine);
  // the integrity check reports the same among its problems; extract-fingerprint refuses alike
  assertRefused(verified, /3 training case\(s\) checked, 3 error\(s\), 0 warning\(s\)/);
  for (const f of refused.files) assert.match(lineAbout(verified, f.label), refusedLine);
  assertRefused(fingerprintOnly, /^nnunet: geometry mismatch beyond half a voxel in 3 file\(s\):$/m);
  assert.deepEqual(readdirSync(refused.preprocessed), [], 'nothing under nnUNet_preprocessed');
});

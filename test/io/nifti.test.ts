import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { UserError } from '../../src/errors.js';
import {
  createHeader,
  itkGeometry,
  readNifti,
  writeNifti,
  type NiftiDtype,
  type VoxelArray,
} from '../../src/io/nifti.js';
import { VOXEL_ARRAYS } from '../../src/portable/nifti.js';
import { pythonUnavailable, runPython } from './reference-python.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const hippocampus = path.resolve(repoRoot, '../shared/data/Dataset004_Hippocampus');
const noNibabel = pythonUnavailable(['numpy', 'nibabel']);

const tmp = await mkdtemp(path.join(tmpdir(), 'nifti-test-'));
test.after(() => rm(tmp, { recursive: true, force: true }));

/** Rotation (30 deg about z, then 10 deg about x) times anisotropic spacing, plus an offset; `flip` makes det < 0. */
function obliqueAffine(flip = false): number[][] {
  const [cz, sz] = [Math.cos(Math.PI / 6), Math.sin(Math.PI / 6)];
  const [cx, sx] = [Math.cos(Math.PI / 18), Math.sin(Math.PI / 18)];
  const rz = [
    [cz, -sz, 0],
    [sz, cz, 0],
    [0, 0, 1],
  ];
  const rx = [
    [1, 0, 0],
    [0, cx, -sx],
    [0, sx, cx],
  ];
  const spacing = [flip ? -0.7 : 0.7, 1.3, 2.5];
  const offset = [-10, 20.5, 3.25];
  return [
    ...[0, 1, 2].map((r) => [
      ...[0, 1, 2].map((c) => [0, 1, 2].reduce((acc, k) => acc + rz[r][k] * rx[k][c], 0) * spacing[c]),
      offset[r],
    ]),
    [0, 0, 0, 1],
  ];
}

const RANGES: Record<NiftiDtype, [number, number]> = {
  uint8: [0, 255],
  int8: [-128, 127],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  float32: [-1e6, 1e6],
  float64: [-1e12, 1e12],
};

/** Deterministic values spanning the dtype's range, including both extremes. */
function sampleData(dtype: NiftiDtype, n: number): VoxelArray {
  const ctor = VOXEL_ARRAYS[dtype];
  const out = new ctor(n);
  const [lo, hi] = RANGES[dtype];
  let seed = 12345;
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    const u = seed / 2147483648;
    out[i] = dtype.startsWith('float') ? lo + u * (hi - lo) : Math.floor(lo + u * (hi - lo + 1));
  }
  out[0] = lo;
  out[n - 1] = hi;
  return out;
}

const maxAbsDiff = (a: number[][], b: number[][]): number =>
  Math.max(...a.flatMap((row, r) => row.map((v, c) => Math.abs(v - b[r][c]))));

const sameBytes = (a: VoxelArray, b: VoxelArray): boolean =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

test('round trip keeps header, affine and values for every datatype, NIfTI-1/-2, .nii/.nii.gz', async () => {
  const shape = [3, 4, 5];
  const affine = obliqueAffine();
  for (const version of [1, 2] as const) {
    for (const ext of ['.nii', '.nii.gz']) {
      for (const dtype of Object.keys(RANGES) as NiftiDtype[]) {
        const file = path.join(tmp, `rt_v${version}_${dtype}${ext}`);
        const header = createHeader({ shape, affine, dtype, version });
        const data = sampleData(dtype, 60);
        await writeNifti(file, data, shape, header);
        const back = await readNifti(file);
        const what = `${file}`;
        assert.ok(sameBytes(back.data, data), `${what}: voxels differ`);
        assert.equal(back.data.constructor, data.constructor, what);
        assert.deepEqual(back.shape, shape, what);
        assert.equal(back.header.version, version, what);
        assert.equal(back.header.datatype, dtype, what);
        assert.deepEqual(back.header.dims, [5, 4, 3], what);
        assert.equal(back.header.qformCode, 1, what);
        assert.equal(back.header.sformCode, 1, what);
        // NIfTI-1 stores geometry as float32, NIfTI-2 as float64.
        const tol = version === 1 ? 1e-5 : 1e-12;
        assert.ok(maxAbsDiff(back.affine, affine) < tol, `${what}: affine ${JSON.stringify(back.affine)}`);
        for (let i = 0; i < 3; i++) assert.ok(Math.abs(back.spacing[i] - [2.5, 1.3, 0.7][i]) < 1e-6, what);
        // Rewriting with the read header reproduces the header byte for byte (no drift through a round trip).
        const again = path.join(tmp, `again_v${version}_${dtype}${ext}`);
        await writeNifti(again, back.data, back.shape, back.header);
        assert.deepEqual((await readNifti(again)).header, back.header, what);
      }
    }
  }
});

test('a 4D volume reads as [t, z, y, x] and a channel of it writes as 3D with the same geometry', async () => {
  const shape = [2, 3, 4, 5];
  const header = createHeader({ shape, affine: obliqueAffine(), dtype: 'int16' });
  const data = sampleData('int16', 120);
  const file = path.join(tmp, 'four_d.nii.gz');
  await writeNifti(file, data, shape, header);
  const vol = await readNifti(file);
  assert.deepEqual(vol.shape, shape);
  assert.deepEqual(vol.spacing.map((s) => Math.round(s * 1e6) / 1e6), [2.5, 1.3, 0.7]);
  const channel1 = vol.data.subarray(60, 120);
  const out = path.join(tmp, 'channel1.nii.gz');
  await writeNifti(out, channel1, [3, 4, 5], vol.header);
  const ch = await readNifti(out);
  assert.deepEqual(ch.shape, [3, 4, 5]);
  assert.deepEqual(ch.affine, vol.affine);
  assert.ok(sameBytes(ch.data, channel1));
});

test('writeNifti converts to the requested dtype and refuses values it cannot hold', async () => {
  const header = createHeader({ shape: [1, 2, 2], affine: obliqueAffine(), dtype: 'float32' });
  const file = path.join(tmp, 'labels.nii.gz');
  await writeNifti(file, new Float32Array([0, 1, 2, 255]), [1, 2, 2], header, { dtype: 'uint8' });
  const back = await readNifti(file);
  assert.ok(back.data instanceof Uint8Array);
  assert.deepEqual([...back.data], [0, 1, 2, 255]);
  await assert.rejects(
    writeNifti(file, new Float32Array([0, 1, 2, 256]), [1, 2, 2], header, { dtype: 'uint8' }),
    /256 .* cannot be stored as uint8/,
  );
  await assert.rejects(writeNifti(file, new Uint8Array(4), [2, 2, 2], header), /do not fill shape/);
  await assert.rejects(writeNifti(file, new Uint8Array(8), [2, 2, 2], header), /does not match the spatial shape/);
});

test('itkGeometry gives SimpleITK spacing, LPS origin and direction', () => {
  // RAS affine with x and y flipped is the identity direction in ITK's LPS convention.
  const header = createHeader({
    shape: [4, 3, 2],
    affine: [
      [-0.5, 0, 0, 10],
      [0, -0.8, 0, -20],
      [0, 0, 3, 5],
      [0, 0, 0, 1],
    ],
    dtype: 'uint8',
  });
  const g = itkGeometry(header);
  assert.deepEqual(
    g.spacing.map((s) => Math.round(s * 1e6) / 1e6),
    [0.5, 0.8, 3],
  );
  assert.deepEqual(g.origin, [-10, 20, 5]);
  assert.deepEqual(
    g.direction.map((d) => Math.round(d * 1e6) / 1e6),
    [1, 0, 0, 0, 1, 0, 0, 0, 1],
  );
});

test('nibabel opens our oblique files with the same affine, qform and data', async (t) => {
  if (noNibabel) return t.skip(noNibabel);
  for (const [version, flip] of [
    [1, false],
    [1, true],
    [2, false],
  ] as const) {
    const affine = obliqueAffine(flip);
    const file = path.join(tmp, `oblique_v${version}_${flip}.nii.gz`);
    const data = sampleData('float32', 60);
    await writeNifti(file, data, [3, 4, 5], createHeader({ shape: [3, 4, 5], affine, dtype: 'float32', version }));
    const py = runPython<{ affine: number[][]; qform: number[][]; shape: number[]; values: number[]; codes: number[] }>(
      `
import sys, json, nibabel as nib, numpy as np
img = nib.load(sys.argv[1])
print(json.dumps({
  'affine': img.affine.tolist(), 'qform': img.header.get_qform().tolist(), 'shape': list(img.shape),
  'values': np.asarray(img.dataobj).ravel(order='F').astype(float).tolist(),
  'codes': [int(img.header['qform_code']), int(img.header['sform_code'])]}))`,
      [file],
    );
    assert.deepEqual(py.shape, [5, 4, 3]);
    assert.deepEqual(py.codes, [1, 1]);
    assert.ok(maxAbsDiff(py.affine, affine) < 1e-5, `affine ${JSON.stringify(py.affine)}`);
    assert.ok(maxAbsDiff(py.qform, affine) < 1e-5, `qform ${JSON.stringify(py.qform)}`);
    // Python's x-fastest (Fortran) order of the (x, y, z) array is our C order of the [z, y, x] array.
    assert.deepEqual(py.values, [...data]);
  }
});

test('nibabel-written files read with nibabel values: scl_slope, qform only, no transform, big endian, extension', async (t) => {
  if (noNibabel) return t.skip(noNibabel);
  const dir = path.join(tmp, 'nib');
  const result = runPython<Record<string, { affine: number[][]; values: number[]; shape: number[] }>>(
    `
import sys, os, json, nibabel as nib, numpy as np
d = sys.argv[1]; os.makedirs(d, exist_ok=True)
raw = (np.arange(2*3*4, dtype=np.int16).reshape(2, 3, 4) * 37 - 300)
aff = np.array([[0, -1.5, 0, 4], [2.0, 0, 0, -7], [0, 0, 0.8, 1.5], [0, 0, 0, 1]])
out = {}
def save(name, img):
    nib.save(img, os.path.join(d, name))
    back = nib.load(os.path.join(d, name))
    out[name] = {'affine': back.affine.tolist(), 'values': back.get_fdata().ravel(order='F').tolist(), 'shape': list(back.shape)}
img = nib.Nifti1Image(raw, aff); img.header.set_slope_inter(0.5, 10); save('scaled.nii.gz', img)
img = nib.Nifti1Image(raw, None); img.set_qform(aff, 1); img.set_sform(None, 0); save('qform_only.nii', img)
img = nib.Nifti1Image(raw, None); img.set_qform(None, 0); img.set_sform(None, 0); save('no_xform.nii', img)
hdr = nib.Nifti1Header(endianness='>'); img = nib.Nifti1Image(raw.astype('>f8') / 7, aff, hdr); save('big_endian.nii', img)
img = nib.Nifti2Image(raw.astype(np.uint16), aff); img.header.set_slope_inter(2, -1); save('scaled_v2.nii.gz', img)
img = nib.Nifti1Image(raw, aff); img.header.extensions.append(nib.nifti1.Nifti1Extension('comment', b'x' * 3000)); save('extension.nii.gz', img)
print(json.dumps(out))`,
    [dir],
  );
  for (const [name, ref] of Object.entries(result)) {
    const vol = await readNifti(path.join(dir, name));
    assert.deepEqual(vol.shape, [...ref.shape].reverse(), name);
    assert.ok(maxAbsDiff(vol.affine, ref.affine) < 1e-6, `${name}: ${JSON.stringify(vol.affine)} vs ${JSON.stringify(ref.affine)}`);
    assert.equal(vol.data.length, ref.values.length, name);
    for (let i = 0; i < ref.values.length; i++) {
      assert.ok(Math.abs(vol.data[i] - ref.values[i]) <= 1e-6 * Math.max(1, Math.abs(ref.values[i])), `${name}[${i}]`);
    }
    if (name.startsWith('scaled')) assert.ok(vol.data instanceof Float32Array, `${name} scaled to float32`);
  }
  assert.ok((await readNifti(path.join(dir, 'qform_only.nii'))).data instanceof Int16Array, 'unscaled stays int16');
});

test('truncated, corrupt, non-NIfTI and unsupported files give a UserError naming the file', async () => {
  const good = path.join(tmp, 'good.nii.gz');
  await writeNifti(good, sampleData('float32', 60), [3, 4, 5], createHeader({ shape: [3, 4, 5], affine: obliqueAffine(), dtype: 'float32' }));
  const gz = await readFile(good);
  const raw = (await import('node:zlib')).gunzipSync(gz);

  const cases: [string, Uint8Array, RegExp][] = [
    ['cut_gzip.nii.gz', gz.subarray(0, gz.length - 20), /truncated or corrupt gzip/],
    ['cut_voxels.nii', raw.subarray(0, raw.length - 8), /truncated or corrupt: header declares 60 voxels \(dims 5×4×3, float32\), 240 bytes at offset 352: larger than the file/],
    ['cut_header.nii', raw.subarray(0, 100), /truncated or corrupt: 100 bytes/],
    ['cut_inside_gzip.nii.gz', gzipSync(raw.subarray(0, 300)), /truncated or corrupt: 300 bytes/],
    ['text.nii', new TextEncoder().encode('hello '.repeat(100)), /not a NIfTI-1 or NIfTI-2 file/],
  ];
  const uint32 = new Uint8Array(raw);
  new DataView(uint32.buffer).setInt16(70, 768, true);
  cases.push(['uint32.nii', uint32, /unsupported datatype uint32 \(code 768\)/]);
  const rgb = new Uint8Array(raw);
  new DataView(rgb.buffer).setInt16(70, 128, true);
  cases.push(['rgb.nii', rgb, /unsupported datatype rgb24/]);

  for (const [name, bytes, pattern] of cases) {
    const file = path.join(tmp, name);
    await writeFile(file, bytes);
    await assert.rejects(readNifti(file), (err: unknown) => {
      assert.ok(err instanceof UserError, `${name}: ${String(err)}`);
      assert.ok(err.message.startsWith(`${file}: `), err.message);
      assert.match(err.message, pattern);
      return true;
    });
  }
  await assert.rejects(readNifti(path.join(tmp, 'missing.nii.gz')), /missing\.nii\.gz: file not found/);
});

test('real Dataset004 files (uint8 and float32 images, float32 labels) read as nibabel reads them', async (t) => {
  if (!existsSync(hippocampus)) return t.skip(`${hippocampus} absent`);
  if (noNibabel) return t.skip(noNibabel);
  const files = ['imagesTr/hippocampus_001_0000.nii.gz', 'imagesTr/hippocampus_003_0000.nii.gz', 'labelsTr/hippocampus_003.nii.gz', 'labelsTr/hippocampus_243.nii.gz'].map(
    (f) => path.join(hippocampus, f),
  );
  const ref = runPython<{ dtype: string; shape: number[]; affine: number[][]; sum: number; first: number[] }[]>(
    `
import sys, json, nibabel as nib, numpy as np
out = []
for f in sys.argv[1:]:
    img = nib.load(f); a = np.asarray(img.dataobj)
    out.append({'dtype': str(a.dtype), 'shape': list(a.shape), 'affine': img.affine.tolist(),
                'sum': float(a.astype(np.float64).sum()), 'first': a.ravel(order='F')[:50].astype(float).tolist()})
print(json.dumps(out))`,
    files,
  );
  for (const [i, file] of files.entries()) {
    const vol = await readNifti(file);
    assert.equal(vol.header.datatype, ref[i].dtype, file);
    assert.deepEqual(vol.shape, [...ref[i].shape].reverse(), file);
    assert.deepEqual(vol.affine, ref[i].affine, file);
    assert.deepEqual([...vol.data.subarray(0, 50)], ref[i].first, file);
    let sum = 0;
    for (let k = 0; k < vol.data.length; k++) sum += vol.data[k];
    assert.equal(sum, ref[i].sum, file);
  }
  assert.equal(ref[0].dtype, 'uint8');
  assert.equal(ref[1].dtype, 'float32');
  assert.equal(ref[2].dtype, 'float32');
});

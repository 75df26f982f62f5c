import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { UserError } from '../../src/errors.js';
import { decodeNpy, encodeNpy, readNpy, readNpz, writeNpy, writeNpz, type NpyInput } from '../../src/io/npz.js';
import { pythonUnavailable, runPython } from './reference-python.js';

const noNumpy = pythonUnavailable(['numpy']);
const tmp = await mkdtemp(path.join(tmpdir(), 'npz-test-'));
test.after(() => rm(tmp, { recursive: true, force: true }));

/** Values that exercise float16 rounding: ties, subnormals, overflow, underflow, specials. */
const HALF_CASES = [0, -0, 1, -2.5, 65504, 65520, 70000, 1e-8, 6e-8, 3e-8, 2.98e-8, 1.00048828125, 1.00146484375, 0.1, 6.1e-5, NaN, Infinity, -Infinity];

function arrays(): Record<string, NpyInput> {
  return {
    probabilities: { data: Float32Array.from({ length: 24 }, (_, i) => i / 7 - 1), shape: [2, 3, 4] },
    half: { data: Float32Array.from(HALF_CASES), shape: [HALF_CASES.length], dtype: 'float16' },
    seg: { data: Uint8Array.from([0, 1, 2, 255, 3, 0]), shape: [1, 2, 3] },
    mask: { data: Uint8Array.from([0, 1, 1, 0]), shape: [2, 2], dtype: 'bool' },
    i8: { data: Int8Array.from([-128, 0, 127]), shape: [3] },
    i16: { data: Int16Array.from([-32768, 7, 32767, 0]), shape: [4, 1] },
    u16: { data: Uint16Array.from([0, 65535]), shape: [2] },
    i32: { data: Int32Array.from([-2147483648, 5, 2147483647]), shape: [3] },
    u32: { data: Uint32Array.from([0, 4294967295]), shape: [2] },
    f64: { data: Float64Array.from([Math.PI, -1e300, 5e-324]), shape: [3] },
    scalar: { data: Float64Array.from([42.5]), shape: [] },
  };
}

/** JSON cannot carry NaN, infinities or -0; Python's float() parses these strings back. */
const jsonable = (v: number): number | string => (Number.isFinite(v) && !Object.is(v, -0) ? v : String(Object.is(v, -0) ? '-0' : v));

test('encode/decode round trip keeps dtype, shape and values; data starts 64-byte aligned', () => {
  for (const [key, input] of Object.entries(arrays())) {
    const bytes = encodeNpy(input);
    const headerLen = new DataView(bytes.buffer).getUint16(8, true);
    assert.equal((10 + headerLen) % 64, 0, key);
    const back = decodeNpy(bytes, key);
    assert.deepEqual(back.shape, input.shape, key);
    assert.equal(back.dtype, input.dtype ?? back.dtype, key);
    if (input.dtype === 'float16') {
      // Exactly representable halves come back unchanged; others come back rounded.
      assert.equal(back.data[2], 1);
      assert.equal(back.data[4], 65504);
      assert.equal(back.data[6], Infinity);
      assert.ok(Number.isNaN(back.data[15]));
    } else {
      assert.deepEqual([...back.data], [...input.data], key);
    }
  }
});

test('numpy loads our .npz (compressed and stored) and .npy with the same dtypes, shapes and values', async (t) => {
  if (noNumpy) return t.skip(noNumpy);
  const inputs = arrays();
  const files = [path.join(tmp, 'ours.npz'), path.join(tmp, 'ours_stored.npz'), path.join(tmp, 'ours.npy')];
  await writeNpz(files[0], inputs);
  await writeNpz(files[1], inputs, { compress: false });
  await writeNpy(files[2], inputs.probabilities);
  const py = runPython<{ archives: Record<string, { descr: string; shape: number[]; values: (number | string)[] }>[]; half_ok: boolean; npy: number[] }>(
    `
import sys, json, numpy as np
def enc(a): return [x if np.isfinite(x) else str(x).replace('inf', 'Infinity').replace('nan', 'NaN') for x in a.ravel().astype(np.float64).tolist()]
arch = []
for f in sys.argv[1:3]:
    with np.load(f) as z:
        arch.append({k: {'descr': z[k].dtype.str, 'shape': list(z[k].shape), 'values': enc(z[k])} for k in z.files})
expected = np.array([float(v) for v in json.loads(sys.argv[4])], dtype=np.float32).astype(np.float16)
with np.load(sys.argv[1]) as z: got = z['half']
half_ok = bool(np.array_equal(got.view(np.uint16), expected.view(np.uint16)))
print(json.dumps({'archives': arch, 'half_ok': half_ok, 'npy': np.load(sys.argv[3]).ravel().tolist()}))`,
    [files[0], files[1], files[2], JSON.stringify(HALF_CASES.map(jsonable))],
  );
  assert.ok(py.half_ok, 'float16 bits equal numpy astype(float16)');
  const descr: Record<string, string> = {
    probabilities: '<f4', half: '<f2', seg: '|u1', mask: '|b1', i8: '|i1', i16: '<i2', u16: '<u2', i32: '<i4', u32: '<u4', f64: '<f8', scalar: '<f8',
  };
  for (const archive of py.archives) {
    assert.deepEqual(Object.keys(archive).sort(), Object.keys(inputs).sort());
    for (const [key, input] of Object.entries(inputs)) {
      assert.equal(archive[key].descr, descr[key], key);
      assert.deepEqual(archive[key].shape, input.shape, key);
      if (key !== 'half') assert.deepEqual(archive[key].values, [...input.data].map(jsonable), key);
    }
  }
  assert.deepEqual(py.npy, [...inputs.probabilities.data]);
});

test('we read numpy-written savez_compressed, savez and .npy (float16, big endian, bool, 0-d)', async (t) => {
  if (noNumpy) return t.skip(noNumpy);
  const ref = runPython<Record<string, { shape: number[]; values: number[] }>>(
    `
import sys, os, json, numpy as np
d = sys.argv[1]
arrs = {
  'softmax': (np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 9).astype(np.float16),
  'big': np.array([[1, -2], [300000, -400000]], dtype='>i4'),
  'flags': np.array([True, False, True]),
  'seg': np.arange(6, dtype=np.int16).reshape(3, 2) - 3,
  'zero_d': np.array(3.5, dtype=np.float64),
}
np.savez_compressed(os.path.join(d, 'np_c.npz'), **arrs)
np.savez(os.path.join(d, 'np_s.npz'), **arrs)
np.save(os.path.join(d, 'np.npy'), arrs['big'])
print(json.dumps({k: {'shape': list(v.shape), 'values': v.ravel().astype(np.float64).tolist()} for k, v in arrs.items()}))`,
    [tmp],
  );
  const dtypes: Record<string, string> = { softmax: 'float16', big: 'int32', flags: 'bool', seg: 'int16', zero_d: 'float64' };
  for (const file of ['np_c.npz', 'np_s.npz']) {
    const arrs = await readNpz(path.join(tmp, file));
    assert.deepEqual(Object.keys(arrs).sort(), Object.keys(ref).sort());
    for (const [key, r] of Object.entries(ref)) {
      assert.deepEqual(arrs[key].shape, r.shape, `${file}:${key}`);
      assert.equal(arrs[key].dtype, dtypes[key], `${file}:${key}`);
      assert.deepEqual([...arrs[key].data], r.values, `${file}:${key}`);
    }
  }
  const npy = await readNpy(path.join(tmp, 'np.npy'));
  assert.deepEqual([...npy.data], ref.big.values);
});

test('corrupt, truncated and unsupported files give a UserError naming the file', async () => {
  const good = path.join(tmp, 'good.npz');
  await writeNpz(good, { a: { data: new Float32Array(100), shape: [10, 10] } });
  const bytes = await readFile(good);
  const npy = encodeNpy({ data: new Float32Array(100), shape: [10, 10] });
  const fortran = new TextDecoder('latin1').decode(npy).replace("'fortran_order': False", "'fortran_order': True ");
  const cases: [string, Uint8Array, RegExp][] = [
    ['cut.npz', bytes.subarray(0, bytes.length - 30), /truncated or corrupt zip archive/],
    ['cut.npy', npy.subarray(0, npy.length - 4), /truncated or corrupt: shape \(10, 10\) of float32 needs 400 bytes of data, found 396/],
    ['text.npy', new TextEncoder().encode('not numpy at all'), /not a \.npy file/],
    ['fortran.npy', Uint8Array.from(fortran, (c) => c.charCodeAt(0)), /Fortran-ordered arrays are not supported/],
  ];
  for (const [name, data, pattern] of cases) {
    const file = path.join(tmp, name);
    await writeFile(file, data);
    const read = name.endsWith('.npz') ? readNpz(file) : readNpy(file);
    await assert.rejects(read, (err: unknown) => {
      assert.ok(err instanceof UserError, String(err));
      assert.ok(err.message.startsWith(file), err.message);
      assert.match(err.message, pattern);
      return true;
    });
  }
});

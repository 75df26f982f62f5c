// The preprocessed-case file format: round trip, numpy-readable arrays, finished-case listing, validation.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { UserError } from '../../src/errors.js';
import { createHeader } from '../../src/io/nifti.js';
import { writeNpy } from '../../src/io/npz.js';
import { type CaseProperties, listPreprocessedCases, readPreprocessedCase, writePreprocessedCase } from '../../src/preprocessing/preprocessed-store.js';
import { pythonUnavailable, runPython } from '../io/reference-python.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'pp-store-'));
});
after(() => rm(dir, { recursive: true, force: true }));

const properties: CaseProperties = {
  spacing: [2, 1, 1],
  shape_before_cropping: [3, 4, 5],
  bbox_used_for_cropping: [[0, 2], [1, 4], [0, 5]],
  shape_after_cropping_and_before_resampling: [2, 3, 5],
  class_locations: { '1': [[0, 1, 2]], '300': [] },
  nifti_header: createHeader({ shape: [3, 4, 5], affine: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 2, 0], [0, 0, 0, 1]], dtype: 'int16' }),
  preprocessing_hash: 'abc',
};
const data = Float32Array.from({ length: 2 * 2 * 3 * 5 }, (_, i) => i / 7);
const seg = Int16Array.from({ length: 2 * 3 * 5 }, (_, i) => (i === 7 ? 300 : (i % 3) - 1));

test('write then read returns the same arrays and properties; only finished cases are listed', async () => {
  await writePreprocessedCase(dir, 'case_b', { data, seg, shape: [2, 2, 3, 5], properties });
  await writePreprocessedCase(dir, 'case_a', { data, seg: Int8Array.from(seg, (v) => (v > 127 ? 1 : v)), shape: [2, 2, 3, 5], properties });
  // An unfinished case (no .json yet) and a temp file are not cases.
  await writeNpy(path.join(dir, 'case_c.npy'), { data, shape: [2, 2, 3, 5] });
  await writeFile(path.join(dir, '.case_d.json.123.tmp'), '{}');
  assert.deepEqual(await listPreprocessedCases(dir), ['case_a', 'case_b']);
  const b = await readPreprocessedCase(dir, 'case_b');
  assert.deepEqual(b.shape, [2, 2, 3, 5]);
  assert.deepEqual(b.data, data);
  assert.deepEqual(b.seg, seg);
  assert.deepEqual(b.properties, JSON.parse(JSON.stringify(properties)));
  assert.ok((await readPreprocessedCase(dir, 'case_a')).seg instanceof Int8Array);
  assert.deepEqual(await listPreprocessedCases(path.join(dir, 'missing')), []);
});

test('numpy reads the arrays with the documented dtypes and shapes', async (t) => {
  const missing = pythonUnavailable(['numpy']);
  if (missing) return t.skip(missing);
  await writePreprocessedCase(dir, 'np_case', { data, seg, shape: [2, 2, 3, 5], properties });
  const info = runPython<string[]>(
    `import json, sys, numpy as np
d = np.load(sys.argv[1]); s = np.load(sys.argv[2])
print(json.dumps([str(d.dtype), str(d.shape), str(s.dtype), str(s.shape), str(int(s.max())), str(float(d[1, 1, 2, 4]))]))`,
    [path.join(dir, 'np_case.npy'), path.join(dir, 'np_case_seg.npy')],
  );
  assert.deepEqual(info.slice(0, 5), ['float32', '(2, 2, 3, 5)', 'int16', '(1, 2, 3, 5)', '300']);
  assert.equal(Number(info[5]), data[59]);
});

test('mismatched files are rejected with the file named', async () => {
  await writePreprocessedCase(dir, 'bad', { data, seg, shape: [2, 2, 3, 5], properties });
  await writeNpy(path.join(dir, 'bad_seg.npy'), { data: seg, shape: [1, 2, 15] });
  await assert.rejects(readPreprocessedCase(dir, 'bad'), (e: Error) => e instanceof UserError && e.message.includes('bad_seg.npy'));
  await writeFile(path.join(dir, 'bad.json'), JSON.stringify({ spacing: 'x' }));
  await assert.rejects(readPreprocessedCase(dir, 'bad'), (e: Error) => e instanceof UserError && e.message.includes('bad.json'));
  await assert.rejects(writePreprocessedCase(dir, 'short', { data: data.subarray(1), seg, shape: [2, 2, 3, 5], properties }), /values/);
});

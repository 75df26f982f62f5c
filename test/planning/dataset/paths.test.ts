import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { UserError } from '../../../src/errors.js';
import { baseFolder, datasetFoldersWithId, resolveDatasetName } from '../../../src/planning/paths.js';

const tmp = await mkdtemp(path.join(tmpdir(), 'paths-test-'));
test.after(() => rm(tmp, { recursive: true, force: true }));

test('base folders come from the override, else the environment, else a UserError naming the variable', () => {
  const env = { nnUNet_raw: 'rel/raw', nnUNet_results: '/abs/results' };
  assert.equal(baseFolder('raw', undefined, env), path.resolve('rel/raw'));
  assert.equal(baseFolder('raw', '/override', env), '/override');
  assert.equal(baseFolder('results', undefined, env), '/abs/results');
  assert.throws(() => baseFolder('preprocessed', undefined, env), (err: unknown) => {
    assert.ok(err instanceof UserError);
    assert.match(err.message, /^nnUNet_preprocessed is not set/);
    return true;
  });
  assert.throws(() => baseFolder('raw', undefined, { nnUNet_raw: '  ' }), /nnUNet_raw is not set/);
});

test('resolveDatasetName maps ids to exactly one DatasetXXX_* folder and accepts full names', async () => {
  const raw = path.join(tmp, 'raw');
  for (const d of ['Dataset004_Hippocampus', 'Dataset007_A', 'Dataset007_B', 'Dataset040_Other', 'NotADataset']) {
    await mkdir(path.join(raw, d), { recursive: true });
  }
  assert.equal(await resolveDatasetName('4', raw), 'Dataset004_Hippocampus');
  assert.equal(await resolveDatasetName('004', raw), 'Dataset004_Hippocampus');
  assert.equal(await resolveDatasetName(4, raw), 'Dataset004_Hippocampus');
  assert.equal(await resolveDatasetName(40, raw), 'Dataset040_Other');
  assert.equal(await resolveDatasetName('Dataset123_NotHereYet', raw), 'Dataset123_NotHereYet');
  await assert.rejects(resolveDatasetName('7', raw), /dataset id 7 is ambiguous: Dataset007_A, Dataset007_B/);
  await assert.rejects(resolveDatasetName('5', raw), /no dataset folder Dataset005_\* for dataset id 5/);
  await assert.rejects(resolveDatasetName('../etc', raw), /invalid dataset "\.\.\/etc"/);
  await assert.rejects(resolveDatasetName('Dataset004_a/../../x', raw), /invalid dataset/);
  await assert.rejects(resolveDatasetName('1', path.join(tmp, 'nowhere')), /no dataset folder Dataset001_\*/);
  assert.deepEqual(await datasetFoldersWithId(raw, 7), ['Dataset007_A', 'Dataset007_B']);
  assert.deepEqual(await datasetFoldersWithId(path.join(tmp, 'nowhere'), 7), []);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../../../src/errors.js';
import { labelValues, loadDatasetJson, numChannels, parseDatasetJson } from '../../../src/planning/dataset-json.js';
import { datasetJson, writeJson } from './synthetic.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const hippocampus = path.resolve(repoRoot, '../shared/data/Dataset004_Hippocampus');
const tmp = await mkdtemp(path.join(tmpdir(), 'dsjson-test-'));
test.after(() => rm(tmp, { recursive: true, force: true }));

test('a valid dataset.json keeps its optional fields; label helpers read it', async () => {
  const file = path.join(tmp, 'dataset.json');
  await writeJson(file, datasetJson({ labels: { background: 0, a: 1, b: 2, ignore: 3 }, licence: 'CC-BY', release: '1.0' }));
  const json = await loadDatasetJson(file);
  assert.equal(json.licence, 'CC-BY');
  assert.equal(json.release, '1.0');
  assert.equal(numChannels(json), 2);
  assert.deepEqual(labelValues(json), [0, 1, 2, 3]);
});

test('label rules follow nnU-Net: background 0, consecutive values, ignore label highest', () => {
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ labels: { bg: 0, a: 1 } }, /labels must declare "background": 0/],
    [{ labels: { background: 0, a: 1, ignore: 5 } }, /the ignore label must be the highest value \(2\)\n  → at labels\.ignore/],
    [{ labels: { background: 0, a: 1.5 } }, /a label value must be a non-negative integer\n  → at labels\.a/],
    [{ channel_names: { '0': 'CT', '2': 'MR' } }, /channel keys must be 0\.\.1, got 0, 2/],
    [{ channel_names: {} }, /declare at least one channel/],
    [{ overwrite_image_reader_writer: 'NibabelIO' }, /reader "NibabelIO" is not supported/],
    [{ numTraining: -1 }, /→ at numTraining/],
  ];
  for (const [overrides, pattern] of bad) {
    assert.throws(() => parseDatasetJson(datasetJson(overrides), '/x/dataset.json'), (err: unknown) => {
      assert.ok(err instanceof UserError);
      assert.match(err.message, /^\/x\/dataset\.json: invalid dataset\.json\n/);
      assert.match(err.message, pattern);
      return true;
    });
  }
});

test('the real Dataset004 dataset.json loads', async (t) => {
  if (!existsSync(hippocampus)) return t.skip(`${hippocampus} absent`);
  const json = await loadDatasetJson(path.join(hippocampus, 'dataset.json'));
  assert.equal(json.numTraining, 210);
  assert.deepEqual(json.labels, { background: 0, Anterior: 1, Posterior: 2 });
  assert.deepEqual(json.channel_names, { '0': 'MRI' });
  assert.equal(json.file_ending, '.nii.gz');
});

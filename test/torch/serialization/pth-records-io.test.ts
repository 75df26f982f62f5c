import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { pyOrderedDict, type PyValue } from '../../../src/torch/serialization/py-values.js';
import { readPthRecords, writePthRecords } from '../../../src/torch/serialization/pth-records-io.js';
import { TensorRecord } from '../../../src/torch/serialization/tensor-record.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pth-io-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('a 120 MB state dict saves and loads in about a second, unchanged, leaving no temp files', async () => {
  const stateDict: Record<string, TensorRecord> = {};
  for (let i = 0; i < 30; i++) {
    const values = new Float32Array(1 << 20).map((_, j) => i * 1e6 + j);
    stateDict[`encoder.stages.${i}.conv.weight`] = TensorRecord.contiguous(String(i), 'float32', [256, 4096], new Uint8Array(values.buffer));
  }
  const file = path.join(dir, 'big.pth');
  const t0 = performance.now();
  await writePthRecords(file, { network_weights: pyOrderedDict(stateDict), current_epoch: 5 });
  const t1 = performance.now();
  const back = (await readPthRecords(file)) as Record<string, PyValue<TensorRecord>>;
  const t2 = performance.now();
  console.log(`120 MB state dict: save ${(t1 - t0).toFixed(0)} ms, load ${(t2 - t1).toFixed(0)} ms`);
  assert.ok(t1 - t0 < 4000 && t2 - t1 < 4000, 'save and load each stay within a few seconds on a slow machine');
  const weights = back.network_weights as Record<string, TensorRecord>;
  assert.deepEqual(Object.keys(weights), Object.keys(stateDict));
  for (const [k, rec] of Object.entries(stateDict)) {
    assert.deepEqual(weights[k].shape, rec.shape);
    assert.ok(Buffer.from(weights[k].storage.bytes).equals(Buffer.from(rec.storage.bytes)), k);
  }
  assert.deepEqual(await readdir(dir), ['big.pth']);
});

// The pure parts of data-parallel training: the batch split, gradient buckets, torchrun's environment contract and the
// world-size check of --c.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forceForeground } from '../../../src/data/patch-sampler.js';
import type { ScheduleSettings } from '../../../src/model/checkpoint.js';
import { empty, tidy } from '../../../src/torch/index.js';
import { checkScheduleCompatibility } from '../../../src/training/checkpoint-selection.js';
import { rankEnvironment } from '../../../src/training/launch/environment.js';
import { planBuckets } from '../../../src/training/strategy/distributed.js';
import { batchShareOf } from '../../../src/training/strategy/strategy.js';

test('the global batch: floor(bs/world) each, the lowest ranks take the remainder, bs < world refused', () => {
  const shares = (bs: number, world: number) => Array.from({ length: world }, (_, r) => batchShareOf(bs, r, world));
  assert.deepEqual(shares(7, 2).map((s) => [s.offset, s.size]), [[0, 4], [4, 3]]);
  assert.deepEqual(shares(10, 4).map((s) => [s.offset, s.size]), [[0, 3], [3, 3], [6, 2], [8, 2]]);
  assert.deepEqual(shares(2, 1).map((s) => [s.offset, s.size]), [[0, 2]]);
  assert.throws(() => batchShareOf(2, 0, 3), /batch size 2 is smaller than the 3 ranks/);
  // foreground oversampling by global sample index: the ranks' forced samples together are upstream's pattern
  for (const [bs, world] of [[7, 2], [10, 4], [9, 3]]) {
    const global = Array.from({ length: bs }, (_, j) => forceForeground(j, bs, 0.33));
    const perRank = shares(bs, world).flatMap((s) => Array.from({ length: s.size }, (_, j) => forceForeground(s.offset + j, s.globalBatchSize, 0.33)));
    assert.deepEqual(perRank, global, `bs ${bs}, world ${world}`);
  }
});

test('gradient buckets: consecutive tensors up to the byte cap, split by dtype', () =>
  tidy(() => {
    const t = (n: number, dtype: 'float32' | 'float64' = 'float32') => empty([n], dtype);
    // 4-byte floats: 100 + 100 reach 800 bytes at the cap of 800, so the third starts a new bucket
    assert.deepEqual(planBuckets([t(100), t(100), t(100), t(10)], 800), [[0, 1], [2, 3]]);
    assert.deepEqual(planBuckets([t(10), t(10, 'float64'), t(10, 'float64')], 1 << 20), [[0], [1, 2]]);
    assert.deepEqual(planBuckets([], 800), []);
  }));

test("torchrun's environment: RANK and WORLD_SIZE make a rank, defaults as torchrun, mistakes refused", () => {
  assert.equal(rankEnvironment({}), null);
  assert.deepEqual(rankEnvironment({ RANK: '1', WORLD_SIZE: '2' }), { rank: 1, worldSize: 2, localRank: 1, masterAddr: '127.0.0.1', masterPort: 29500 });
  assert.deepEqual(rankEnvironment({ RANK: '5', WORLD_SIZE: '8', LOCAL_RANK: '1', MASTER_ADDR: 'node0', MASTER_PORT: '1234' }), { rank: 5, worldSize: 8, localRank: 1, masterAddr: 'node0', masterPort: 1234 });
  assert.throws(() => rankEnvironment({ RANK: '0' }), /RANK is set but WORLD_SIZE is not/);
  assert.throws(() => rankEnvironment({ RANK: '2', WORLD_SIZE: '2' }), /RANK=2 is outside WORLD_SIZE=2/);
  assert.throws(() => rankEnvironment({ RANK: 'x', WORLD_SIZE: '2' }), /RANK=x/);
});

test('--c checks the world size, reading 1 where a checkpoint predates it', () => {
  const schedule: ScheduleSettings = { trainer: 't', num_epochs: 5, num_iterations_per_epoch: 3, num_val_iterations_per_epoch: 2, plans_identifier: 'p', configuration: 'c', fold: 0, seed: 1 };
  assert.deepEqual(checkScheduleCompatibility(schedule, { ...schedule, world_size: 1 }), []);
  assert.deepEqual(checkScheduleCompatibility({ ...schedule, world_size: 2 }, { ...schedule, world_size: 1 }), [{ setting: 'world_size', saved: 2, requested: 1 }]);
  assert.deepEqual(checkScheduleCompatibility(schedule, { ...schedule, world_size: 4 }), [{ setting: 'world_size', saved: 1, requested: 4 }]);
});

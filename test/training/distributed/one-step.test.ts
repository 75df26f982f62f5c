// Data-parallel equivalence: 2 CPU ranks over gloo, each taking half of an even global batch, make the same weight
// update as one process taking the whole batch (nnU-Net's loss is a batch mean, and the gradients are averaged).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { Tensor, tidy } from '../../../src/torch/index.js';
import { oneStep } from './one-step-case.js';
import { freePort } from './ports.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../..');

function rank(rank: number, port: number, out: string, mode: string): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'one-step-case.ts'), out, mode], {
    cwd: repo,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RANK: String(rank), WORLD_SIZE: '2', MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), NNUNET_NUM_THREADS: '1', GLOG_minloglevel: '3' },
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, output })));
}

for (const batchDice of [false, true]) {
  const what = batchDice ? 'batch Dice summed over ranks' : 'per-sample Dice';
  test(`2 ranks with half the batch each make the weight update of 1 process with the whole batch (${what}, 1e-6 relative)`, async () => {
    const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'nnunet-ddp-')), 'after.bin');
    const port = await freePort();
    const mode = batchDice ? 'batch-dice' : 'sample-dice';
    const runs = await Promise.all([rank(0, port, out, mode), rank(1, port, out, mode)]);
    for (const r of runs) assert.equal(r.code, 0, r.output);
    tidy(() => {
      const { before, after } = oneStep(undefined, undefined, batchDice);
      const buf = readFileSync(out);
      const dp = Tensor.fromBuffer(buf, [buf.length / 4], 'float32');
      const update = after.sub(before);
      const dpUpdate = dp.sub(before);
      const relative = dpUpdate.sub(update).norm().item() / update.norm().item();
      assert.ok(update.norm().item() > 1e-3, 'the step moves the weights');
      assert.ok(relative < 1e-6, `weight update differs by ${relative} (relative L2)`);
      // the comparison can see a wrong reduction: one rank's half alone (no averaging) moves the weights differently
      const half = oneStep(undefined, { offset: 0, size: 2 }, batchDice);
      const halfRelative = half.after.sub(half.before).sub(update).norm().item() / update.norm().item();
      assert.ok(halfRelative > 1e-3, `half a batch differs by only ${halfRelative}`);
    });
  });
}

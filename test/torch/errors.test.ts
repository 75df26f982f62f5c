// libtorch errors surface as JS Errors carrying libtorch's message without the C++ backtrace, and the process lives on.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { type DType, F, type InterpolationMode, tensor, zeros } from '../../src/torch/index.js';
import { native } from '../../src/torch/native.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** fn must throw an Error whose message matches `message` and carries no C++ backtrace. */
function assertCleanError(fn: () => unknown, message: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof Error, `expected an Error, got ${String(caught)}`);
  assert.match(caught.message, message);
  assert.doesNotMatch(caught.message, /Exception raised from/);
  assert.doesNotMatch(caught.message, /frame #\d/);
}

test('shape mismatches', () => {
  assertCleanError(() => tensor([1, 2, 3]).add(tensor([1, 2, 3, 4])), /The size of tensor a \(3\) must match the size of tensor b \(4\) at non-singleton dimension 0/);
  assertCleanError(() => zeros([2, 3]).matmul(zeros([4, 5])), /mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)/);
  assertCleanError(() => zeros([6]).reshape([4]), /shape '\[4\]' is invalid for input of size 6/);
  assertCleanError(() => F.conv(zeros([1, 3, 5, 5]), zeros([2, 4, 3, 3]), null), /expected input\[1, 3, 5, 5\] to have 4 channels, but got 3 channels instead/);
  assertCleanError(() => F.convTranspose(zeros([1, 3, 4, 4, 4]), zeros([2, 4, 2, 2, 2]), null, { stride: 2 }), /channels/);
  assertCleanError(() => zeros([2, 3]).select(0, 5), /select\(\): index 5 out of range for tensor of size \[2, 3\] at dimension 0/);
  assertCleanError(() => zeros([2]).item(), /one element, got 2/);
});

test('wrong dtypes', () => {
  assertCleanError(() => F.crossEntropy(zeros([2, 3]), tensor([0, 1])), /expected scalar type Long but found Float/);
  assertCleanError(() => tensor([1, 2]).matmul(tensor(new BigInt64Array([1n, 2n]))), /expected both vectors to have same dtype, but found Float and Long/);
  assertCleanError(() => F.conv(zeros([1, 1, 3, 3], 'int64'), zeros([1, 1, 3, 3]), null), /type|dtype|Long|Float/);
  assertCleanError(() => zeros([2], 'float8' as DType), /unknown dtype float8/);
  assertCleanError(() => F.interpolate(zeros([1, 1, 4]), { size: [2], mode: 'cubic' as InterpolationMode }), /unknown interpolation mode cubic/);
});

test('use after dispose, at the TypeScript and at the native layer', () => {
  const t = tensor([1, 2]);
  const handle = t.native;
  t.dispose();
  assertCleanError(() => t.add(1), /tensor was already disposed/);
  assertCleanError(() => t.shape, /tensor was already disposed/);
  assertCleanError(() => native.unary('neg', handle), /tensor was already freed/);
  assertCleanError(() => native.unary('neg', 5 as never), /expected a tensor/);
});

test('the process keeps working after errors', () => {
  for (let i = 0; i < 50; i++) assert.throws(() => zeros([3]).add(zeros([4])));
  assert.deepEqual(tensor([1, 2]).add(1).toArray(), [2, 3]);
});

test('an uncaught libtorch error ends the process like any JS error: exit code 1, no abort, no backtrace', () => {
  const script = `import { zeros } from './src/torch/index.ts'; zeros([2, 3]).matmul(zeros([4, 5]));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(r.signal, null, `killed by ${r.signal}`);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /mat1 and mat2 shapes cannot be multiplied/);
  assert.doesNotMatch(r.stderr, /Exception raised from|terminate called|Aborted/);
});

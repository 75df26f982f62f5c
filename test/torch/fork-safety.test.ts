// Spawning child processes must not hang a process that uses the engine (OpenBLAS's fork handler can deadlock while
// its thread pool exists; the engine keeps BLAS single-threaded for that reason).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/spawn-during-blas.ts');

test('a worker thread can spawn child processes while the main thread runs matmuls', async () => {
  const env = { ...process.env };
  // the engine's own default must be what prevents the deadlock: OpenBLAS falls back to these when its variable is unset
  for (const v of ['OPENBLAS_NUM_THREADS', 'GOTO_NUM_THREADS', 'OMP_NUM_THREADS']) delete env[v];
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['--import', 'tsx', fixture], { env, timeout: 60_000 }, (error, out, err) =>
      error ? reject(new Error(`${error.message}${error.killed ? ' (killed by the 60 s timeout: deadlocked)' : ''}\n${out}${err}`)) : resolve(out),
    ),
  );
  assert.equal(stdout.trim(), 'spawned 30');
});

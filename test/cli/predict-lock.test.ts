import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { LOCK_FILE_NAME, readFolderLock } from '../../src/io/folder-lock.js';
import { writeCase, writeTinyModel } from '../inference/model-fixture.js';
import { outputOf, runCli } from './cli-process.js';

const root = mkdtempSync(path.join(tmpdir(), 'nnunet-predict-lock-'));
after(() => rmSync(root, { recursive: true, force: true }));

async function until(condition: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  for (const start = Date.now(); !condition(); await new Promise((r) => setTimeout(r, 50))) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
  }
}

test('a second `nnunet predict` into the same output folder exits 1 with one line naming the first; after kill -9 the next takes over', async () => {
  const model = path.join(root, 'model');
  await writeTinyModel(model, [0]);
  const input = path.join(root, 'input');
  await writeCase(input, 'case', [40, 40, 40], null, 1);
  const output = path.join(root, 'output');
  const args = ['predict', '-i', input, '-o', output, '-m', model, '-f', '0', '--disable-tta', '--no-progress'];
  const env = { OMP_NUM_THREADS: '1' }; // leave the shared cores to the other predicts

  // the first predict is made to take minutes (a 0.05 step: tens of thousands of tiles), so it surely still holds
  // the folder when the second one starts; it is killed once the second has been refused
  let firstDone = false;
  const first = runCli([...args, '--step-size', '0.05'], { env }).then(
    (r) => ((firstDone = true), r),
    (e: Error) => ((firstDone = true), e),
  );
  await until(() => existsSync(path.join(output, LOCK_FILE_NAME)) || firstDone, 'the first predict to take the lock');
  if (firstDone) assert.fail(`the first predict ended early: ${String(await first)}`);
  const holder = await readFolderLock(output);
  assert.ok(holder);

  const second = await runCli(args, { env });
  assert.ok(!firstDone, 'the first predict still runs');
  assert.equal(second.code, 1, outputOf(second));
  assert.equal(
    second.stderr,
    `nnunet: ${output} is in use by another nnunet process (pid ${holder.pid} on host ${holder.host}, since ${holder.started}, nnunet predict): wait for it to finish or stop it\n`,
  );

  // kill -9 cannot release; the next predict takes the stale lock over, says so, and releases it at the end
  process.kill(holder.pid, 'SIGKILL'); // the first predict (execFile runs node directly: its pid is the child's)
  assert.ok((await first) instanceof Error, 'ended by the signal');
  assert.equal((await readFolderLock(output))?.pid, holder.pid);
  const third = await runCli(args, { env });
  assert.equal(third.code, 0, outputOf(third));
  assert.match(third.stderr, new RegExp(`^nnunet: took over the stale lock of ${output} \\(pid ${holder.pid} .*: that process is gone\\)$`, 'm'));
  assert.ok(existsSync(path.join(output, 'case.nii.gz')));
  assert.ok(!existsSync(path.join(output, LOCK_FILE_NAME)), 'released at the end');
});

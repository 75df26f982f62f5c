import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { UserError } from '../../src/errors.js';
import { LOCK_FILE_NAME, type LockInfo, acquireFolderLock, readFolderLock } from '../../src/io/folder-lock.js';
import { type LockOutcome, race } from './race-child.js';

const root = mkdtempSync(path.join(tmpdir(), 'nnunet-folder-lock-'));
after(() => rmSync(root, { recursive: true, force: true }));

function folder(name: string): string {
  const dir = path.join(root, name);
  mkdirSync(dir);
  return dir;
}

/** A lock file as another process would have left it. */
function writeLock(dir: string, fields: Partial<LockInfo>): string {
  const info: LockInfo = { pid: process.pid, host: hostname(), started: '2026-12-01T09:30:00.000Z', command: 'nnunet train', processStart: null, token: 'left-behind', ...fields };
  const file = path.join(dir, LOCK_FILE_NAME);
  writeFileSync(file, JSON.stringify(info));
  return file;
}

/** A PID no process has: one that just exited (and was reaped). */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid as number;
}

function refusedWith(pattern: string): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof UserError, String(error));
    assert.equal(error.message, pattern);
    return true;
  };
}

test('a second writer is refused with one line naming the folder and the holder\'s PID, host and start time; exit releases', async () => {
  const dir = folder('held');
  const [holder] = await race([{ kind: 'lock', folders: [dir] }]);
  assert.deepEqual(await holder.result, [{ won: true, warnings: [] }]);
  const info = (await readFolderLock(dir)) as LockInfo;
  assert.equal(info.pid, holder.pid);
  assert.equal(info.host, hostname());
  assert.ok(!Number.isNaN(Date.parse(info.started)), info.started);
  await assert.rejects(
    acquireFolderLock(dir, { command: 'nnunet train' }),
    refusedWith(`${dir} is in use by another nnunet process (pid ${holder.pid} on host ${hostname()}, since ${info.started}, nnunet test-child): wait for it to finish or stop it`),
  );
  assert.equal((await readFolderLock(dir))?.token, info.token, 'the refused writer left the lock alone');
  // the holder exits (process.exit) without releasing by hand: the 'exit' handler removes the file
  assert.deepEqual(await holder.finish(), { code: 0, signal: null });
  assert.deepEqual(readdirSync(dir), []);
});

test('kill -9 leaves the lock; the next writer takes it over as stale with a warning', async () => {
  const dir = folder('killed');
  const [holder] = await race([{ kind: 'lock', folders: [dir] }]);
  await holder.result;
  holder.process.kill('SIGKILL');
  assert.equal((await holder.exited).signal, 'SIGKILL');
  assert.equal((await readFolderLock(dir))?.pid, holder.pid, 'kill -9 cannot release');
  const warnings: string[] = [];
  const lock = await acquireFolderLock(dir, { command: 'nnunet train', onWarning: (m) => warnings.push(m) });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], new RegExp(`^nnunet: took over the stale lock of ${dir} \\(pid ${holder.pid} on host .*: that process is gone\\)$`));
  assert.equal((await readFolderLock(dir))?.pid, process.pid);
  lock.release();
  assert.deepEqual(readdirSync(dir), []);
});

test('a lock naming a PID now used by another process (its start time differs) is stale', { skip: process.platform !== 'linux' && 'needs /proc' }, async () => {
  const dir = folder('reused');
  writeLock(dir, { pid: process.pid, processStart: 'another-boot:12345' });
  const warnings: string[] = [];
  const lock = await acquireFolderLock(dir, { command: 'nnunet train', onWarning: (m) => warnings.push(m) });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /that PID now belongs to another process\)$/);
  assert.notEqual((await readFolderLock(dir))?.token, 'left-behind');
  lock.release();
});

test('a lock from another host is never taken over, even naming a PID that is gone here', async () => {
  const dir = folder('other-host');
  const file = writeLock(dir, { host: 'gpu-node-7', pid: deadPid() });
  const before = readFileSync(file, 'utf8');
  const info = (await readFolderLock(dir)) as LockInfo;
  await assert.rejects(
    acquireFolderLock(dir, { command: 'nnunet train', onWarning: () => assert.fail('no take-over') }),
    refusedWith(
      `${dir} is in use by an nnunet process on another host (pid ${info.pid} on host gpu-node-7, since 2026-12-01T09:30:00.000Z, nnunet train): wait for it to finish; if that process is gone, delete ${file} by hand`,
    ),
  );
  assert.equal(readFileSync(file, 'utf8'), before);
});

test('an unreadable lock file is refused, never taken over: the message says to delete it if unused', async () => {
  const dir = folder('garbage');
  const file = path.join(dir, LOCK_FILE_NAME);
  writeFileSync(file, '{"pid": 12');
  await assert.rejects(acquireFolderLock(dir, { command: 'nnunet train' }), refusedWith(`${file}: unreadable lock file; if no nnunet process uses ${dir}, delete it by hand`));
  assert.equal(readFileSync(file, 'utf8'), '{"pid": 12');
});

test('release() removes only its own lock; the same process cannot take a folder twice', async () => {
  const dir = folder('own');
  const lock = await acquireFolderLock(dir, { command: 'nnunet predict' });
  await assert.rejects(acquireFolderLock(dir, { command: 'nnunet predict' }), /is in use by this process \(pid \d+ on host .*, nnunet predict\)/);
  // someone replaced it (a take-over after a wrong judgement, a hand edit): release must not remove theirs
  const file = writeLock(dir, { token: 'theirs' });
  lock.release();
  assert.ok(existsSync(file));
  rmSync(file);
  const again = await acquireFolderLock(dir, { command: 'nnunet predict' });
  again.release();
  again.release();
  assert.deepEqual(readdirSync(dir), []);
});

test('processes racing for a free folder and for a stale lock: exactly one wins each, the others are refused', async () => {
  const free = folder('race-free');
  const stale = folder('race-stale');
  writeLock(stale, { pid: deadPid(), token: 'stale' });
  const children = await race(Array.from({ length: 4 }, () => ({ kind: 'lock' as const, folders: [free, stale] })));
  const outcomes = (await Promise.all(children.map((c) => c.result))) as LockOutcome[][];
  for (const [f, dir] of [free, stale].entries()) {
    const winners = children.filter((_, i) => outcomes[i][f].won);
    assert.equal(winners.length, 1, `${dir}: ${JSON.stringify(outcomes.map((o) => o[f]))}`);
    assert.equal((await readFolderLock(dir))?.pid, winners[0].pid);
    for (const o of outcomes.map((x) => x[f]).filter((x) => !x.won)) assert.match(o.error ?? '', /is in use by another nnunet process \(pid \d+/);
  }
  assert.ok(outcomes.some((o) => o[1].warnings.length === 1), 'someone took over the stale lock');
  assert.ok(outcomes.every((o) => o[0].warnings.length === 0));
  await Promise.all(children.map((c) => c.finish()));
  // no lock, temp file or take-over marker left behind
  assert.deepEqual([...readdirSync(free), ...readdirSync(stale)], []);
});

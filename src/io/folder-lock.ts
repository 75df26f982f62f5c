// One writer per folder: a `.nnunet-lock` file names the process that writes there (a training fold, a preprocessed
// dataset, a prediction output folder), so that a forgotten second run is refused instead of interleaving its files.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, unlinkSync } from 'node:fs';
import { link, open, readFile, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { UserError } from '../errors.js';

export const LOCK_FILE_NAME = '.nnunet-lock';

export const LockInfoSchema = z.object({
  pid: z.number().int().positive(),
  host: z.string(),
  /** ISO time the lock was taken. */
  started: z.string(),
  /** What holds the lock, e.g. `nnunet train`. */
  command: z.string(),
  /**
   * `<boot id>:<starttime>` of the holder from /proc (Linux), so that a PID reused by another process, or after a
   * reboot, is not mistaken for the holder; null where /proc is unavailable.
   */
  processStart: z.string().nullable(),
  /** Random per acquisition: release() and take-over remove exactly this lock, never a newer one. */
  token: z.string(),
});
export type LockInfo = z.infer<typeof LockInfoSchema>;

export interface FolderLockOptions {
  /** Shown to a refused second writer, e.g. `nnunet train`. */
  command: string;
  /** Receives the one-line notice when a stale lock is taken over. Default console.warn. */
  onWarning?: (message: string) => void;
}

export interface FolderLock {
  readonly folder: string;
  readonly file: string;
  /** Removes the lock file if it is still ours; idempotent. Also done on process exit. */
  release(): void;
}

// A lock file being written (only where hard links are unsupported) or taken over right now: retried this many
// times, LOCK_RETRY_MS apart, before giving up.
const MAX_ATTEMPTS = 50;
const LOCK_RETRY_MS = 20;

/**
 * Takes the lock of `folder` (which must exist), or throws a UserError naming the holder. A stale lock of this host
 * (its process is gone, or its PID now belongs to another process) is taken over with a warning; a lock of another
 * host never is.
 */
export async function acquireFolderLock(folder: string, options: FolderLockOptions): Promise<FolderLock> {
  const file = path.resolve(folder, LOCK_FILE_NAME);
  const warn = options.onWarning ?? ((message: string) => console.warn(message));
  const mine = ownLockInfo(options.command);
  const bytes = encodeLock(mine);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (await writeFileExclusive(file, bytes)) return hold(folder, file, mine.token);
    const holder = await readLock(file);
    if (holder === 'missing') continue; // released meanwhile
    if (holder === 'unreadable') {
      await sleep(LOCK_RETRY_MS);
      continue;
    }
    const state = holderState(holder);
    if (state === 'alive') {
      const who = holder.pid === process.pid && holder.host === mine.host ? 'this process' : 'another nnunet process';
      throw new UserError(`${folder} is in use by ${who} (${describe(holder)}): wait for it to finish or stop it`);
    }
    if (state === 'other-host') {
      throw new UserError(`${folder} is in use by an nnunet process on another host (${describe(holder)}): wait for it to finish; if that process is gone, delete ${file} by hand`);
    }
    if (await removeStaleLock(file, holder, mine)) {
      warn(`nnunet: took over the stale lock of ${folder} (${describe(holder)}: ${state === 'gone' ? 'that process is gone' : 'that PID now belongs to another process'})`);
    } else await sleep(LOCK_RETRY_MS); // another process is taking it over right now
  }
  const last = await readLock(file);
  if (last === 'unreadable') throw new UserError(`${file}: unreadable lock file; if no nnunet process uses ${folder}, delete it by hand`);
  throw new UserError(`${folder}: could not take its lock (${file}) after ${MAX_ATTEMPTS} attempts: other nnunet processes keep taking it`);
}

/** The holder named by `folder`'s lock file, or null if it has none (or an unreadable one). */
export async function readFolderLock(folder: string): Promise<LockInfo | null> {
  const lock = await readLock(path.resolve(folder, LOCK_FILE_NAME));
  return typeof lock === 'object' ? lock : null;
}

/**
 * Creates `file` holding `bytes` only if no such file exists; returns false (and leaves it alone) if one does. Readers
 * never see a partial file: the bytes are written and fsynced to a temp file first, then hard-linked into place, which
 * fails atomically if the name exists.
 */
export async function writeFileExclusive(file: string, bytes: Uint8Array): Promise<boolean> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  await writeSynced(tmp, bytes);
  try {
    await link(tmp, file);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (!code || !LINK_UNSUPPORTED.has(code)) throw error;
    // file systems without hard links (some FUSE, SMB): O_EXCL create, briefly empty while it is written
    try {
      await writeSynced(file, bytes);
      return true;
    } catch (fallbackError) {
      if ((fallbackError as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw fallbackError;
    }
  } finally {
    await rm(tmp, { force: true });
  }
}

const LINK_UNSUPPORTED = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/** O_EXCL create, write, fsync; removes the file again if writing fails. */
async function writeSynced(file: string, bytes: Uint8Array): Promise<void> {
  const handle = await open(file, 'wx');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(file, { force: true });
    throw error;
  }
  await handle.close();
}

function ownLockInfo(command: string): LockInfo {
  return {
    pid: process.pid,
    host: hostname(),
    started: new Date().toISOString(),
    command,
    processStart: processStart(process.pid),
    token: randomBytes(8).toString('hex'),
  };
}

function encodeLock(info: LockInfo): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(info, null, 2)}\n`);
}

function describe(holder: LockInfo): string {
  return `pid ${holder.pid} on host ${holder.host}, since ${holder.started}, ${holder.command}`;
}

function parseLock(text: string): LockInfo | 'unreadable' {
  try {
    const result = LockInfoSchema.safeParse(JSON.parse(text));
    return result.success ? result.data : 'unreadable';
  } catch {
    return 'unreadable';
  }
}

async function readLock(file: string): Promise<LockInfo | 'missing' | 'unreadable'> {
  try {
    return parseLock(await readFile(file, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw error;
  }
}

type HolderState = 'alive' | 'gone' | 'reused' | 'other-host';

function holderState(holder: LockInfo): HolderState {
  if (holder.host !== hostname()) return 'other-host';
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    // EPERM: the process exists but belongs to another user
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return 'gone';
  }
  const stat = procStat(holder.pid);
  if (stat?.state === 'Z' || stat?.state === 'X') return 'gone'; // killed, not yet reaped by its parent
  if (stat && holder.processStart !== null && stat.start !== holder.processStart) return 'reused';
  return 'alive';
}

/** Whether a lock's holder may still be running (here: the same process is alive; another host: cannot tell, so yes). */
export function lockIsLive(holder: LockInfo): boolean {
  const state = holderState(holder);
  return state === 'alive' || state === 'other-host';
}

let bootId: string | undefined;

/** State and `<boot id>:<starttime>` of a process from /proc/<pid>/stat; null where that is unreadable. */
function procStat(pid: number): { state: string; start: string } | null {
  try {
    bootId ??= readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) is parenthesised and may contain spaces and parentheses: split after its last ')'
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); field 22 (starttime, clock ticks after boot) is fields[19]
    return { state: fields[0], start: `${bootId}:${fields[19]}` };
  } catch {
    return null;
  }
}

function processStart(pid: number): string | null {
  return procStat(pid)?.start ?? null;
}

/**
 * Removes `stale` from `file` unless another process is doing so. Race-free: only the process that creates the
 * take-over marker named after the stale lock's token may remove that lock, and it first checks that the file still
 * is that lock (a token never comes back, so a slow process that judged it stale earlier finds a different one).
 * Returns whether this process removed it.
 */
async function removeStaleLock(file: string, stale: LockInfo, mine: LockInfo): Promise<boolean> {
  // hashed: the token comes from a file anyone may have edited, and must not make a path
  const marker = `${file}.takeover-${createHash('sha256').update(stale.token).digest('hex').slice(0, 16)}`;
  if (!(await writeFileExclusive(marker, encodeLock(mine)))) {
    const other = await readLock(marker);
    if (typeof other === 'object' && holderState(other) !== 'alive') {
      throw new UserError(`${path.dirname(file)}: a take-over of its stale lock was interrupted; if no nnunet process uses that folder, delete ${file} and ${marker} by hand`);
    }
    return false;
  }
  try {
    const current = await readLock(file);
    if (typeof current !== 'object' || current.token !== stale.token) return false;
    await rm(file, { force: true });
    return true;
  } finally {
    await rm(marker, { force: true });
  }
}

/** Locks this process holds (file → token), released by the 'exit' handler if still held. */
const held = new Map<string, string>();
let exitHandlerInstalled = false;

function hold(folder: string, file: string, token: string): FolderLock {
  held.set(file, token);
  if (!exitHandlerInstalled) {
    exitHandlerInstalled = true;
    // 'exit' runs on process.exit() and a normal end (the CLI's SIGINT/SIGTERM paths exit so); kill -9 leaves the
    // file, and the next run takes it over as stale
    process.on('exit', () => {
      for (const [f, t] of held) releaseSync(f, t);
    });
  }
  return {
    folder,
    file,
    release() {
      if (held.get(file) !== token) return;
      held.delete(file);
      releaseSync(file, token);
    },
  };
}

function releaseSync(file: string, token: string): void {
  try {
    const current = parseLock(readFileSync(file, 'utf8'));
    if (typeof current === 'object' && current.token === token) unlinkSync(file);
  } catch {
    // removed by hand, or its folder is gone: nothing to release; a lock left behind is taken over as stale
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

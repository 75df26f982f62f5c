// Atomic file writes for every stage (the engine's .pth writer included, so it lives below them all), and the
// mapping of full-disk and I/O errors to one message naming the file.
import { randomBytes } from 'node:crypto';
import { copyFile, link, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from './errors.js';
import { maybeFailWrite, maybeKillAt } from './fault-injection.js';

/** Write errors that are the machine's state, not a bug: the command ends with a message naming the file. */
const WRITE_FAILURES: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EIO: 'input/output error',
  EROFS: 'read-only file system',
  EFBIG: 'file too large for the file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
};

/** A write that failed for a reason outside nnunet-ts (full disk, I/O error); the previous file is intact. */
export class WriteFailedError extends UserError {
  constructor(
    readonly file: string,
    readonly code: string,
  ) {
    // keeps the name 'UserError': worker threads tell user errors from bugs by name
    super(`${file}: cannot write it: ${WRITE_FAILURES[code] ?? code} (${code}); the previous version of the file, if any, is unchanged. Free space or fix the folder, then run the command again (train: add --c to continue)`);
  }
}

/** Rethrows a known write failure as WriteFailedError naming `file`; anything else as it is. */
export function asWriteFailure(error: unknown, file: string): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code && code in WRITE_FAILURES ? new WriteFailedError(file, code) : error;
}

/**
 * Writes `bytes` to `filePath` so that readers see either the old file or the complete new one:
 * a temp file in the same folder (same file system, so rename is atomic), fsync, then rename. A failure
 * removes the temp file and leaves the old file as it was.
 */
export async function writeFileAtomic(filePath: string, bytes: Uint8Array): Promise<void> {
  const tmp = tempPathFor(filePath);
  try {
    const handle = await open(tmp, 'w');
    try {
      // in two halves, so that the fault hooks strike with a partial temp file on disk, as a real failure would
      const half = bytes.length >> 1;
      await handle.writeFile(bytes.subarray(0, half));
      maybeKillAt(`write:${filePath}`);
      maybeFailWrite(filePath);
      // FileHandle.writeFile continues at the current position
      await handle.writeFile(bytes.subarray(half));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, filePath);
  } catch (err) {
    await rm(tmp, { force: true });
    throw asWriteFailure(err, filePath);
  }
}

function tempPathFor(filePath: string): string {
  return path.join(path.dirname(filePath), `.${path.basename(filePath)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** File systems without hard links (FAT, some network mounts) answer these; a copy stands in. */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EXDEV', 'EMLINK']);

/**
 * Makes `filePath` a second name of the complete file `source` (same folder), atomically as writeFileAtomic: a hard
 * link under a temp name, then rename; a copy where the file system has no hard links. `source` may be replaced later
 * (writeFileAtomic renames a new file over it): `filePath` keeps this content.
 */
export async function linkFileAtomic(source: string, filePath: string): Promise<void> {
  const tmp = tempPathFor(filePath);
  try {
    try {
      await link(source, tmp);
    } catch (err) {
      if (!NO_HARD_LINKS.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
      await copyFile(source, tmp);
      const handle = await open(tmp, 'r+');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
    maybeKillAt(`write:${filePath}`);
    maybeFailWrite(filePath);
    await rename(tmp, filePath);
  } catch (err) {
    await rm(tmp, { force: true });
    throw asWriteFailure(err, filePath);
  }
}

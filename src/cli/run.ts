// How the CLI ends: help and version exit 0; usage mistakes that commander caught (it has printed them) exit 2;
// user mistakes print `nnunet: <message>` and exit 1 (no stack trace); anything else is a bug: stack, exit 70.
import { CommanderError } from 'commander';
import { UserError } from '../errors.js';

export const EXIT_USER_ERROR = 1;
export const EXIT_USAGE = 2;
/** sysexits' EX_SOFTWARE: an internal error. */
export const EXIT_INTERNAL = 70;

const FILE_ERRORS: Record<string, string> = { ENOENT: 'no such file or folder', EACCES: 'permission denied', ENOTDIR: 'not a folder', EISDIR: 'is a folder' };

export function reportError(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : EXIT_USAGE;
  if (error instanceof UserError) {
    console.error(`nnunet: ${error.message}`);
    return EXIT_USER_ERROR;
  }
  const e = error as NodeJS.ErrnoException | undefined;
  if (e?.code && e.path && FILE_ERRORS[e.code]) {
    console.error(`nnunet: ${e.path}: ${FILE_ERRORS[e.code]}`);
    return EXIT_USER_ERROR;
  }
  console.error('nnunet: internal error (a bug in nnunet-ts, please report it with this output):');
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  return EXIT_INTERNAL;
}

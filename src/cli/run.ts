// How the CLI ends: user mistakes print one line and exit 1 (no stack trace); anything else is a bug and shows it.
import { CommanderError } from 'commander';
import { UserError } from '../errors.js';

export function reportError(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode || 2;
  if (error instanceof UserError) {
    console.error(`nnunet: ${error.message}`);
    return 1;
  }
  const e = error as NodeJS.ErrnoException;
  if (e && (e.code === 'ENOENT' || e.code === 'EACCES' || e.code === 'ENOTDIR') && e.path) {
    console.error(`nnunet: ${e.path}: ${e.code === 'ENOENT' ? 'no such file or folder' : e.code === 'EACCES' ? 'permission denied' : 'not a folder'}`);
    return 1;
  }
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  return 70;
}

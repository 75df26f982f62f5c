// The server hands out files from a few roots only (nnUNet_results, the --models folders, the bundled web assets).
// Every file request goes through resolveInside, which refuses what could leave the root: `..` (also when it arrived
// percent-encoded), absolute paths, backslashes, NUL and dot files, and, after resolving symlinks, any target
// outside the root.
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';

export type Refusal = { refused: 'traversal' | 'outside' | 'missing' };

/** Decodes one request path (as it came after the route prefix) into its segments, or null if it is not plain. */
export function plainSegments(relative: string): string[] | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(relative);
  } catch {
    return null; // malformed percent-encoding
  }
  if (decoded.includes('\0') || decoded.includes('\\') || decoded.startsWith('/') || /^[A-Za-z]:/.test(decoded)) return null;
  const segments = decoded.split('/').filter((s) => s !== '');
  // also hidden files (.nnunet-lock, editor swap files): nothing the pages link to starts with a dot
  if (segments.length === 0 || segments.some((s) => s.startsWith('.'))) return null;
  return segments;
}

/** `relative` (as requested) inside `root` as the real path of an existing regular file, or why it is refused. */
export async function resolveInside(root: string, relative: string): Promise<string | Refusal> {
  const segments = plainSegments(relative);
  if (segments === null) return { refused: 'traversal' };
  let realRoot: string;
  let real: string;
  try {
    realRoot = await realpath(root);
    real = await realpath(path.join(realRoot, ...segments));
  } catch {
    return { refused: 'missing' };
  }
  if (!isInside(realRoot, real)) return { refused: 'outside' };
  const info = await stat(real).catch(() => null);
  return info?.isFile() ? real : { refused: 'missing' };
}

/** Whether `child` (a real path) is `root` or below it. */
export function isInside(root: string, child: string): boolean {
  const rel = path.relative(root, child);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

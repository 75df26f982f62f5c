/** Runs a snippet under the reference python (/usr/bin/python3 with numpy/nibabel); null with a reason when unavailable. */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const PYTHON = '/usr/bin/python3';

/** Reason to skip, or null when /usr/bin/python3 can import every module in `modules`. */
export function pythonUnavailable(modules: string[]): string | null {
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  try {
    execFileSync(PYTHON, ['-c', modules.map((m) => `import ${m}`).join('; ')], { stdio: 'pipe' });
    return null;
  } catch {
    return `${PYTHON} lacks one of: ${modules.join(', ')}`;
  }
}

/** Run `code` with `input` on stdin; returns stdout. */
export function runPython(code: string, input = ''): string {
  return execFileSync(PYTHON, ['-c', code], { input, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

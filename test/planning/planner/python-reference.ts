/** Runs scipy_reference.py with Debian's python (numpy, scipy, nibabel): the reference implementation for these tests. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const PYTHON = '/usr/bin/python3';
const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'scipy_reference.py');

/** Why the reference cannot run here, or null when it can. */
export function referenceUnavailable(modules: string[] = ['numpy', 'scipy']): string | null {
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  const probe = spawnSync(PYTHON, ['-c', modules.map((m) => `import ${m}`).join('; ')], { encoding: 'utf8' });
  if (probe.status !== 0) return `${PYTHON} lacks ${modules.join('/')}: ${probe.stderr.trim().split('\n').pop()}`;
  return null;
}

export function runReference<T>(command: string, request: unknown): T {
  const result = spawnSync(PYTHON, [SCRIPT, command], {
    input: JSON.stringify(request),
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (result.status !== 0) throw new Error(`scipy_reference.py ${command} failed:\n${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

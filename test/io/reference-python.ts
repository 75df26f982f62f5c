/** Runs scripts in the reference Python (Debian's /usr/bin/python3 with numpy and nibabel) for cross-checks. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const REFERENCE_PYTHON = '/usr/bin/python3';

/** Why the reference Python cannot run `modules`, or null when it can. */
export function pythonUnavailable(modules: string[]): string | null {
  if (!existsSync(REFERENCE_PYTHON)) return `${REFERENCE_PYTHON} not found`;
  const r = spawnSync(REFERENCE_PYTHON, ['-c', modules.map((m) => `import ${m}`).join('; ')], { encoding: 'utf8' });
  return r.status === 0 ? null : `${REFERENCE_PYTHON} lacks ${modules.join(', ')}: ${r.stderr.trim().split('\n').pop()}`;
}

/** Runs `script` with `args` (sys.argv[1:]) and parses the JSON it prints on its last stdout line. */
export function runPython<T>(script: string, args: string[] = []): T {
  const r = spawnSync(REFERENCE_PYTHON, ['-c', script, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`python failed (${r.status}): ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as T;
}

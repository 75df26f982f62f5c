/** Runs the `nnunet` CLI from source (node --import tsx src/cli/main.ts) in a child process, as a user would. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MAIN = path.join(repoRoot, 'src/cli/main.ts');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `nnunet <args>`; the environment is the test's without nnU-Net's folder variables (so the host's never leak
 * in), plus `env`.
 */
export function runCli(args: string[], options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  for (const v of ['nnUNet_raw', 'nnUNet_preprocessed', 'nnUNet_results']) if (!options.env?.[v]) delete env[v];
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', MAIN, ...args],
      { cwd: repoRoot, env, timeout: options.timeoutMs ?? 60_000, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') reject(new Error(`nnunet ${args.join(' ')}: ${error.message}${error.killed ? ' (killed by the timeout)' : ''}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`));
        else resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
      },
    );
  });
}

/** A failed step's output, for assertion messages. */
export function outputOf(r: CliResult): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

/**
 * `npm run bench`: every benchmark of bench/, one after another, each in its own Node process (so timings and peak
 * RSS are not shared), with its output passed through. A failing benchmark is reported and the others still run; the
 * exit status is 1 if any failed. `--list` prints the commands without running them.
 * usage: node --import tsx bench/run-all.ts [--list]
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// cheapest first, so that a broken setup shows early
const BENCHES = [
  'bench/engine/train-step.ts',
  'bench/preprocess/plan-and-preprocess.bench.ts',
  'bench/inference/sliding-window.bench.ts',
  'bench/training/train-step.bench.ts',
  'bench/deploy/onnx-backend.bench.ts',
  'bench/web/browser-segment.bench.ts',
  'bench/inference/large-volume-memory.bench.ts',
  'bench/distributed/data-parallel.bench.ts',
];

function commandOf(bench: string): string[] {
  return [process.execPath, '--import', 'tsx', bench];
}

function run(bench: string): Promise<number> {
  const [cmd, ...args] = commandOf(bench);
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: repo, stdio: 'inherit' });
    child.on('error', (e) => {
      console.error(`${bench}: could not start: ${e.message}`);
      resolve(1);
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.some((a) => a !== '--list')) {
    console.error(`unknown argument(s): ${args.filter((a) => a !== '--list').join(' ')}\nusage: node --import tsx bench/run-all.ts [--list]`);
    process.exitCode = 2;
    return;
  }
  const missing = BENCHES.filter((b) => !existsSync(path.join(repo, b)));
  if (missing.length) {
    console.error(`bench/run-all.ts lists benchmark(s) that do not exist: ${missing.join(', ')}`);
    process.exitCode = 1;
    return;
  }
  if (args.includes('--list')) {
    for (const b of BENCHES) console.log(commandOf(b).map((a) => (a === process.execPath ? 'node' : a)).join(' '));
    return;
  }
  const failed: string[] = [];
  for (const [i, bench] of BENCHES.entries()) {
    console.log(`\n## ${bench} (${i + 1}/${BENCHES.length})\n`);
    const t0 = performance.now();
    const code = await run(bench);
    const s = ((performance.now() - t0) / 1000).toFixed(0);
    if (code !== 0) failed.push(bench);
    console.log(`\n${bench}: ${code === 0 ? 'done' : `FAILED (exit ${code})`} in ${s} s`);
  }
  if (failed.length) {
    console.error(`\n${failed.length} of ${BENCHES.length} benchmarks failed: ${failed.join(', ')}`);
    process.exitCode = 1;
  }
}

await main();

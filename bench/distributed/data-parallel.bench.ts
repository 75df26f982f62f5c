/**
 * Data-parallel overhead on real data: seconds per training iteration of the Dataset004_Hippocampus nnUNetPlans
 * 3d_fullres plan (global batch 7) with 1 process (all cores) and with 2 CPU ranks over gloo (the cores split, batch
 * 4 + 3), and the share of a step spent in the gradient all-reduce. On a 2-core machine this shows the cost of
 * data parallelism, not a speed-up: both runs use the same cores. The all-reduce time includes waiting for the slower
 * rank (the one with 4 samples), so rank 0's share is the closest to pure communication.
 * Needs bench/out/training/ (run bench/training/train-step.bench.ts once: it preprocesses Dataset004 there).
 * usage: node --import tsx bench/distributed/data-parallel.bench.ts [--iters 3] [--rounds 1]
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { freePort } from '../../test/training/distributed/ports.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dataset = path.join(repo, 'bench/out/training/preprocessed/Dataset004_Hippocampus');
const worker = path.join(repo, 'bench/distributed/rank-steps.ts');
const Result = z.object({ rank: z.number(), worldSize: z.number(), localBatch: z.number(), sPerIter: z.array(z.number()), allReduceS: z.number(), totalS: z.number() });
type Result = z.infer<typeof Result>;

function run(rank: number | null, world: number, port: number, threads: number, iters: number): Promise<Result> {
  const env: NodeJS.ProcessEnv = { ...process.env, NNUNET_NUM_THREADS: String(threads), GLOG_minloglevel: '3' };
  if (rank !== null) Object.assign(env, { RANK: String(rank), WORLD_SIZE: String(world), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port) });
  const child = spawn(process.execPath, ['--import', 'tsx', worker, dataset, String(iters)], { cwd: repo, env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  return new Promise((resolve, reject) =>
    child.on('close', (code) => (code === 0 ? resolve(Result.parse(JSON.parse(out.trim().split('\n').pop() ?? ''))) : reject(new Error(`rank ${rank} exited ${code}`)))),
  );
}

const { values } = parseArgs({ options: { iters: { type: 'string', default: '3' }, rounds: { type: 'string', default: '1' } } });
const iters = Number(values.iters);
if (!existsSync(path.join(dataset, 'nnUNetPlans_3d_fullres'))) {
  console.error(`${path.relative(repo, dataset)} is not preprocessed: run node --import tsx bench/training/train-step.bench.ts once`);
  process.exit(1);
}
const cores = os.availableParallelism();
const rows: { round: number; single: Result; ranks: Result[] }[] = [];
for (let round = 0; round < Number(values.rounds); round++) {
  const single = await run(null, 1, 0, cores, iters);
  const port = await freePort();
  const ranks = await Promise.all([0, 1].map((r) => run(r, 2, port, Math.max(1, Math.floor(cores / 2)), iters)));
  rows.push({ round, single, ranks });
  const mean = (r: Result) => r.totalS / r.sPerIter.length;
  const slow = Math.max(...ranks.map(mean));
  console.log(`round ${round}: 1 process ${mean(single).toFixed(2)} s/iteration (batch 7, ${cores} threads); 2 ranks ${slow.toFixed(2)} s/iteration (batch ${ranks.map((r) => r.localBatch).join(' + ')}, ${Math.max(1, Math.floor(cores / 2))} thread(s) each): ratio 2 ranks / 1 process ${(slow / mean(single)).toFixed(2)}`);
  for (const r of ranks) console.log(`  rank ${r.rank}: all-reduce ${(r.allReduceS / r.sPerIter.length).toFixed(3)} s/iteration = ${((100 * r.allReduceS) / r.totalS).toFixed(1)} % of its step`);
}
await mkdir(path.join(repo, 'bench/out/distributed'), { recursive: true });
await writeFile(path.join(repo, 'bench/out/distributed/data-parallel.json'), JSON.stringify({ cores, iters, rows }, null, 2));

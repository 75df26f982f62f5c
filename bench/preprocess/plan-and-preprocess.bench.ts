/**
 * Wall time and peak RSS of plan-and-preprocess on the full Dataset004_Hippocampus (all training cases,
 * 2d + 3d_fullres, -np 2), run in a fresh child process, then a second run that finds everything done.
 * Usage: node --import tsx bench/preprocess/plan-and-preprocess.bench.ts [numProcesses]
 * Reference: nnU-Net v2 takes 36.9 s / 1.5 GB for the 260-case version on a 2-core machine.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { linkRawDataset } from '../../test/link-or-copy.js';

const here = fileURLToPath(import.meta.url);
const NAME = 'Dataset004_Hippocampus';

interface ChildResult {
  cases: number;
  totalS: number;
  fingerprintS: number;
  planS: number;
  preprocessS: number;
  maxRssMB: number;
}

/** The three steps planAndPreprocess runs, called one by one so that each is timed. */
async function child(raw: string, pre: string, numProcesses: number): Promise<void> {
  const { extractFingerprintStep, planStep, preprocessStep } = await import('../../src/preprocessing/plan-and-preprocess.js');
  const dirs = { raw, preprocessed: pre };
  const t0 = performance.now();
  await extractFingerprintStep({ datasetId: 4, dirs, numProcesses });
  const t1 = performance.now();
  const { plans } = await planStep({ datasetId: 4, dirs });
  const t2 = performance.now();
  const configurations = ['2d', '3d_fullres', '3d_lowres'].filter((c) => c in plans.configurations);
  const done = await preprocessStep({ datasetId: 4, dirs, numProcesses, configurations });
  const t3 = performance.now();
  const out: ChildResult = {
    cases: done[0].processed.length + done[0].skipped.length,
    totalS: (t3 - t0) / 1000,
    fingerprintS: (t1 - t0) / 1000,
    planS: (t2 - t1) / 1000,
    preprocessS: (t3 - t2) / 1000,
    maxRssMB: process.resourceUsage().maxRSS / 1024,
  };
  console.log(JSON.stringify(out));
}

async function main(): Promise<void> {
  const numProcesses = Number(process.argv[2] ?? 2);
  const source = path.resolve(path.dirname(here), '../../../shared/data', NAME);
  if (!existsSync(source)) {
    console.log(`skipped: ${source} not found`);
    return;
  }
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'bench-pp-'));
  try {
    const raw = path.join(tmp, 'raw');
    await linkRawDataset(source, raw);
    const runs: [string, ChildResult][] = [];
    for (const label of ['fresh', 'rerun (all done)']) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', here, '--child', raw, path.join(tmp, 'pre'), String(numProcesses)], {
        encoding: 'utf8',
        maxBuffer: 16 << 20,
      });
      if (r.status !== 0) throw new Error(`child failed: ${r.stderr}`);
      runs.push([label, JSON.parse(r.stdout.trim().split('\n').pop() as string) as ChildResult]);
    }
    console.log(`plan-and-preprocess ${NAME}, -np ${numProcesses}, ${os.availableParallelism()} cores`);
    console.log('| run | cases | total s | fingerprint s | plan s | preprocess s | peak RSS MB |');
    console.log('|---|---|---|---|---|---|---|');
    for (const [label, c] of runs) {
      const f = (v: number): string => v.toFixed(1);
      console.log(`| ${label} | ${c.cases} | ${f(c.totalS)} | ${f(c.fingerprintS)} | ${f(c.planS)} | ${f(c.preprocessS)} | ${c.maxRssMB.toFixed(0)} |`);
    }
    console.log('| nnU-Net v2 (260 cases, 2 cores) | 260 | 36.9 | | | | 1500 |');
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') await child(process.argv[3], process.argv[4], Number(process.argv[5]));
else await main();

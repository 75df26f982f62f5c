/**
 * Training speed on real data: seconds per nnU-Net training iteration of nnunet-ts (the real BatchLoader with one
 * background worker, the real trainStep) against one nnU-Net training iteration in plain PyTorch
 * (/work/shared/reference/torch_ref_step.py for PlainConvUNet plans, bench/reference/resenc_ref_step.py for
 * ResidualEncoderUNet ones) on the same plans.json, for the Dataset004_Hippocampus nnUNetPlans 3d_fullres and 2d
 * plans and the nnUNetResEncUNetPlans (ResEncUNetPlanner) 3d_fullres plan, and the demo's own step (`nnunet demo`'s
 * generated dataset, seed 12345: 3d_fullres patch [20, 40, 40], batch 2), at the same thread count. Each run is a fresh process (so peak RSS is per run) that takes one untimed warm-up
 * iteration and then times a few; runs alternate A B A B, nnunet-ts under each allocator setting
 * (bench/allocator-settings.ts: before/after in one run). The plan-and-preprocess results are cached in
 * bench/out/training/ (and bench/out/training-demo/) so that reruns skip them.
 * usage: node --import tsx bench/training/train-step.bench.ts [--rounds 2] [--iters-3d 3] [--iters-2d 2] [--threads 2]
 *        [--python /usr/bin/python3] [--plans nnUNetPlans,nnUNetResEncUNetPlans,demo] [--allocators after,before]
 * Reference (from the brief): nnU-Net v2 (PyTorch 1.13, 2 threads, 2-core machine) takes 8.5 s per 3d_fullres
 * iteration at this plan, with 0.001 s data wait and 2.4 GB peak RSS.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setImmediate as turn } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { median } from '../../src/planning/fingerprint.js';
import { userEnvironment } from '../../src/torch/native.js';
import { linkRawDataset } from '../../test/link-or-copy.js';
import { type AllocatorSetting, allocatorSettings } from '../allocator-settings.js';

const here = fileURLToPath(import.meta.url);
const repo = path.resolve(path.dirname(here), '../..');
const NAME = 'Dataset004_Hippocampus';
const source = path.resolve(repo, '../shared/data', NAME);
const REF_SCRIPT = path.resolve(repo, '../shared/reference/torch_ref_step.py');
const RESENC_REF_SCRIPT = path.join(repo, 'bench/reference/resenc_ref_step.py');
const CONFIGURATIONS = ['3d_fullres', '2d'] as const;

/** A dataset the bench plans and preprocesses once (cached under `cache`). */
interface BenchDataset {
  name: string;
  cache: string;
  /** Writes the raw dataset into rawDir/name. */
  makeRaw(rawDir: string): Promise<void>;
}
const HIPPOCAMPUS: BenchDataset = { name: NAME, cache: path.join(repo, 'bench/out/training'), makeRaw: (rawDir) => linkRawDataset(source, rawDir) };
// `nnunet demo`'s generated data with its default seed: the planner gives 3d_fullres patch [20, 40, 40], batch 2
const DEMO: BenchDataset = {
  name: 'Dataset901_Synthetic',
  cache: path.join(repo, 'bench/out/training-demo'),
  makeRaw: async (rawDir) => {
    const { generateSyntheticDataset } = await import('../../src/cli/demo/synthetic-dataset.js');
    await generateSyntheticDataset({ rawDir, seed: 12345 });
  },
};
const preprocessedDir = (d: BenchDataset) => path.join(d.cache, 'preprocessed', d.name);

/** What is timed per plans file, with the planner that makes it and the PyTorch reference step for its network. */
const PLAN_SETS = [
  { id: 'nnUNetPlans', dataset: HIPPOCAMPUS, plans: 'nnUNetPlans', planner: 'ExperimentPlanner', reference: REF_SCRIPT, configurations: CONFIGURATIONS },
  // ResEncUNetPlanner keeps the default's 5 % batch cap (batch 7 here, as nnUNetPlans); the M/L/XL presets lift it
  // (batch 58/148 for this small dataset), which is far beyond a CPU bench
  { id: 'nnUNetResEncUNetPlans', dataset: HIPPOCAMPUS, plans: 'nnUNetResEncUNetPlans', planner: 'ResEncUNetPlanner', reference: RESENC_REF_SCRIPT, configurations: ['3d_fullres'] },
  { id: 'demo', dataset: DEMO, plans: 'nnUNetPlans', planner: 'ExperimentPlanner', reference: REF_SCRIPT, configurations: ['3d_fullres'] },
] as const;
type PlanSet = (typeof PLAN_SETS)[number];

const ChildResult = z.object({
  sPerIter: z.array(z.number()),
  waitS: z.number(),
  totalS: z.number(),
  maxRssMB: z.number(),
  batchSize: z.number(),
  patchSize: z.array(z.number()),
});
type ChildResult = z.infer<typeof ChildResult>;
const RefResult = z.object({ s_per_iter: z.number(), all: z.array(z.number()), threads: z.number() });
const RefRss = z.object({ maxrss_kb: z.number() });

/** One nnunet-ts run: setup as the trainer does it, one warm-up iteration, then `iters` timed ones. */
async function child(preprocessedDatasetDir: string, plansName: string, configuration: string, iters: number, threads: number): Promise<void> {
  const { setNumThreads, optim } = await import('../../src/torch/index.js');
  const { loadSetup } = await import('../../src/training/trainer.js');
  const { trainStep } = await import('../../src/training/train-step.js');
  const { augmentationFor } = await import('../../src/training/augmentation-config.js');
  const { BatchLoader } = await import('../../src/data/batch-loader.js');
  const { listPreprocessedCases } = await import('../../src/preprocessing/preprocessed-store.js');
  setNumThreads(threads);
  const setup = await loadSetup(preprocessedDatasetDir, plansName, configuration, 12345);
  const { config, network } = setup;
  const numClasses = setup.labels.numSegmentationHeads;
  const dataDir = path.join(preprocessedDatasetDir, config.data_identifier);
  const optimizer = new optim.SGD(network.parameters(), { lr: 1e-2, momentum: 0.99, nesterov: true, weightDecay: 3e-5 });
  const loader = new BatchLoader(
    {
      preprocessedDir: dataDir,
      caseIds: await listPreprocessedCases(dataDir),
      batchSize: config.batch_size,
      patchSize: config.patch_size,
      oversampleForeground: 0.33,
      seed: 12345,
      stream: 'train',
      augmentation: augmentationFor(config),
    },
    { numWorkers: 1 },
  );
  network.train();
  network.deepSupervision = true;
  const iteration = async (): Promise<void> => {
    // one event-loop turn per iteration, as the trainer takes
    await turn();
    trainStep(network, optimizer, await loader.next(), numClasses, { batchDice: config.batch_dice }, 'cpu');
  };
  await iteration();
  const waitBefore = loader.waitSeconds;
  const sPerIter: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) {
    const t = performance.now();
    await iteration();
    sPerIter.push((performance.now() - t) / 1000);
  }
  const totalS = (performance.now() - t0) / 1000;
  const waitS = loader.waitSeconds - waitBefore;
  await loader.close();
  const out: ChildResult = {
    sPerIter,
    waitS,
    totalS,
    maxRssMB: process.resourceUsage().maxRSS / 1024,
    batchSize: config.batch_size,
    patchSize: config.patch_size,
  };
  console.log(JSON.stringify(out));
}

/** The raw dataset, then plan-and-preprocess of the plan sets' configurations, once per dataset. */
async function ensurePreprocessed(dataset: BenchDataset, sets: readonly PlanSet[]): Promise<void> {
  const done = path.join(dataset.cache, 'preprocessed.done');
  if (existsSync(done)) {
    console.error(`using the cached preprocessed data in ${path.relative(repo, dataset.cache)}`);
    return;
  }
  await rm(dataset.cache, { recursive: true, force: true });
  const rawDir = path.join(dataset.cache, 'raw');
  await dataset.makeRaw(rawDir);
  const { planAndPreprocess } = await import('../../src/preprocessing/plan-and-preprocess.js');
  const t0 = performance.now();
  // the ResEnc presets reuse the default plans' preprocessed data, so their second pass only writes the plans
  for (const set of sets) {
    await planAndPreprocess({
      datasetId: dataset.name,
      dirs: { raw: rawDir, preprocessed: path.dirname(preprocessedDir(dataset)) },
      planner: set.planner,
      configurations: [...set.configurations],
      numProcesses: 2,
    });
  }
  console.error(`plan-and-preprocess ${dataset.name}: ${((performance.now() - t0) / 1000).toFixed(1)} s (cached for reruns)`);
  await writeFile(done, new Date().toISOString());
}

function runNnunetTs(set: PlanSet, configuration: string, iters: number, threads: number, setting: AllocatorSetting): ChildResult {
  const r = spawnSync(process.execPath, ['--import', 'tsx', here, '--child', preprocessedDir(set.dataset), set.plans, configuration, String(iters), String(threads)], {
    encoding: 'utf8',
    maxBuffer: 16 << 20,
    env: { ...userEnvironment(), ...setting.env, NNUNET_NUM_THREADS: String(threads) },
  });
  if (r.status !== 0) throw new Error(`nnunet-ts ${configuration} (${setting.label}) run failed (${r.status ?? r.signal}): ${r.stderr}`);
  return ChildResult.parse(JSON.parse(r.stdout.trim().split('\n').pop() ?? ''));
}

// The reference script prints its timings; this wrapper adds the process's peak RSS after it.
const RSS_WRAPPER = `import json, resource, runpy, sys
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name='__main__')
print(json.dumps({'maxrss_kb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))`;

function runTorch(python: string, set: PlanSet, configuration: string, iters: number, threads: number): { ref: z.infer<typeof RefResult>; maxRssMB: number } {
  const script = set.reference;
  const plansName = set.plans;
  const plans = path.join(preprocessedDir(set.dataset), `${plansName}.json`);
  const args = ['-c', RSS_WRAPPER, script, plans, configuration, '3', '1', String(iters), String(threads)];
  const r = spawnSync(python, args, { encoding: 'utf8', env: { ...userEnvironment(), OMP_NUM_THREADS: String(threads) } });
  if (r.status !== 0) throw new Error(`${python} ${path.basename(script)} ${plansName} ${configuration} failed (${r.status ?? r.signal}): ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  return { ref: RefResult.parse(JSON.parse(lines[lines.length - 2])), maxRssMB: RefRss.parse(JSON.parse(lines[lines.length - 1])).maxrss_kb / 1024 };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '2' },
      'iters-3d': { type: 'string', default: '3' },
      'iters-2d': { type: 'string', default: '2' },
      threads: { type: 'string', default: '2' },
      python: { type: 'string', default: '/usr/bin/python3' },
      plans: { type: 'string', default: PLAN_SETS.map((p) => p.id).join(',') },
      allocators: { type: 'string', default: 'after,before' },
    },
  });
  const opts = z
    .object({
      rounds: z.coerce.number().int().positive(),
      'iters-3d': z.coerce.number().int().positive(),
      'iters-2d': z.coerce.number().int().positive(),
      threads: z.coerce.number().int().positive(),
      python: z.string().min(1),
      plans: z.string().transform((v) => v.split(',')),
      allocators: z.string().transform(allocatorSettings),
    })
    .parse(values);
  const sets = PLAN_SETS.filter((p) => opts.plans.includes(p.id));
  if (!existsSync(source)) {
    console.log(`skipped: ${source} not found`);
    return;
  }
  const torchMissing = !existsSync(opts.python) || spawnSync(opts.python, ['-c', 'import torch'], { encoding: 'utf8' }).status !== 0;
  if (torchMissing) console.log(`PyTorch side skipped: ${opts.python} or its torch module is absent`);
  if (!existsSync(REF_SCRIPT)) console.log(`PyTorch side skipped: ${REF_SCRIPT} not found`);
  const withTorch = !torchMissing && existsSync(REF_SCRIPT);
  for (const dataset of new Set(sets.map((s) => s.dataset))) await ensurePreprocessed(dataset, sets.filter((s) => s.dataset === dataset));

  const loadBefore = os.loadavg();
  const rows: string[] = [];
  const runs = sets.flatMap((set) => set.configurations.map((configuration) => ({ set, configuration })));
  for (const { set, configuration } of runs) {
    const iters = configuration === '2d' ? opts['iters-2d'] : opts['iters-3d'];
    const ts = new Map<AllocatorSetting, ChildResult[]>(opts.allocators.map((a) => [a, []]));
    const torch: { ref: z.infer<typeof RefResult>; maxRssMB: number }[] = [];
    for (let round = 1; round <= opts.rounds; round++) {
      for (const setting of opts.allocators) ts.get(setting)?.push(runNnunetTs(set, configuration, iters, opts.threads, setting));
      if (withTorch) torch.push(runTorch(opts.python, set, configuration, iters, opts.threads));
      console.error(`${set.id} ${configuration}: round ${round}/${opts.rounds} done`);
    }
    const b = withTorch ? median(torch.flatMap((r) => r.ref.all)) : null;
    const rssB = withTorch ? Math.max(...torch.map((r) => r.maxRssMB)) : null;
    for (const [setting, results] of ts) {
      const a = median(results.flatMap((r) => r.sPerIter));
      const waitS = results.reduce((s, r) => s + r.waitS, 0);
      const wait = `${(waitS / results.reduce((s, r) => s + r.sPerIter.length, 0)).toFixed(3)} s (${((100 * waitS) / results.reduce((s, r) => s + r.totalS, 0)).toFixed(2)} %)`;
      const rssA = Math.max(...results.map((r) => r.maxRssMB));
      const shape = `${set.dataset.name} ${set.plans} ${configuration}, batch ${results[0].batchSize}, patch [${results[0].patchSize.join(', ')}]`;
      const torchColumns = b !== null && rssB !== null ? [b.toFixed(2), (a / b).toFixed(2)] : ['–', '–'];
      const rssColumns = rssB !== null ? [rssB.toFixed(0), (rssA / rssB).toFixed(2)] : ['–', '–'];
      rows.push(`| ${shape} | ${setting.label} | ${a.toFixed(2)} | ${torchColumns.join(' | ')} | ${wait} | ${rssA.toFixed(0)} | ${rssColumns.join(' | ')} |`);
    }
  }
  const loadAfter = os.loadavg();
  console.log(`${[...new Set(sets.map((s) => s.dataset.name))].join(' + ')}, ${os.availableParallelism()} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), ${opts.threads} threads each side, ` +
    `${opts.rounds} rounds of fresh processes alternated A B A B, each one warm-up + ${opts['iters-3d']} (3d) / ${opts['iters-2d']} (2d) timed iterations`);
  console.log(`load average before ${loadBefore.map((v) => v.toFixed(2)).join(' ')}, after ${loadAfter.map((v) => v.toFixed(2)).join(' ')}`);
  console.log('nnunet-ts: real BatchLoader (1 worker) + trainStep; PyTorch: torch_ref_step.py (PlainConvUNet) or resenc_ref_step.py (ResEnc) on a fixed random batch (no data loading)');
  console.log('');
  console.log('| plan | nnunet-ts allocator | nnunet-ts s/iter | PyTorch s/iter | ratio | nnunet-ts data wait / iter | nnunet-ts peak RSS MB | PyTorch peak RSS MB | RSS ratio |');
  console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) console.log(r);
  console.log('| nnU-Net v2 3d_fullres (brief, PyTorch 1.13, 2 threads) | | | 8.5 | | 0.001 s (0.01 %) | | 2400 | |');
}

if (process.argv[2] === '--child') await child(process.argv[3], process.argv[4], process.argv[5], Number(process.argv[6]), Number(process.argv[7]));
else await main();

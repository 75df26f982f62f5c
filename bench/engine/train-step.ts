/**
 * Engine benchmark: one U-Net training step (4 stages, 16→128 features, cross-entropy on the top output, SGD
 * Nesterov) through nnunet-ts and through PyTorch (bench/engine/train_step_ref.py, same network and thread count),
 * 3D (64³, batch 2) and 2D (128², batch 12). Each nnunet-ts run is a fresh process, under each allocator setting
 * (bench/allocator-settings.ts: the current heap buffers and the earlier mmap threshold, before/after in one run);
 * runs alternate A B A B to cancel machine noise; prints the median ms/step of each and the ratio nnunet-ts / PyTorch.
 * usage: node --import tsx bench/engine/train-step.ts [--steps 5] [--rounds 2] [--threads 2] [--python /usr/bin/python3]
 *        [--allocators after,before]
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { setImmediate as turn } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { F, Generator, keep, optim, randint, randn, setNumThreads, tidy, torchVersion } from '../../src/torch/index.js';
import { median } from '../../src/planning/fingerprint.js';
import { userEnvironment } from '../../src/torch/native.js';
import { allocatorSettings, type AllocatorSetting } from '../allocator-settings.js';
import { PlainUNet } from './plain-unet.js';

const FEATURES = [16, 32, 64, 128];
const IN_CHANNELS = 1;
const NUM_CLASSES = 3;
const CONFIGS = [
  { name: '3D 64³, batch 2', dims: 3 as const, size: 64, batch: 2 },
  { name: '2D 128², batch 12', dims: 2 as const, size: 128, batch: 12 },
];

const script = fileURLToPath(import.meta.url);
const here = path.dirname(script);
const Options = z.object({
  steps: z.coerce.number().int().positive(),
  rounds: z.coerce.number().int().positive(),
  threads: z.coerce.number().int().positive(),
  python: z.string().min(1),
  allocators: z.string().transform(allocatorSettings),
});
const EngineOutput = z.object({ step_ms: z.array(z.number()) });
const RefOutput = z.object({ torch: z.string(), threads: z.number(), step_ms: z.array(z.number()) });

type Config = (typeof CONFIGS)[number];

/** nnunet-ts: builds the network, runs one warm-up step, then times `steps` steps. */
async function runEngine(c: Config, steps: number): Promise<number[]> {
  const g = new Generator(0);
  const net = new PlainUNet({ spatialDims: c.dims, inChannels: IN_CHANNELS, numClasses: NUM_CLASSES, features: FEATURES, generator: g });
  const opt = new optim.SGD(net.parameters(), { lr: 1e-2, momentum: 0.99, nesterov: true, weightDecay: 3e-5 });
  const shape = new Array<number>(c.dims).fill(c.size);
  const x = keep(randn([c.batch, IN_CHANNELS, ...shape], g));
  const y = keep(randint(0, NUM_CLASSES, [c.batch, ...shape], g));
  const step = () => {
    opt.zeroGrad();
    const loss = tidy(() => {
      const l = F.crossEntropy(net.forward(x), y);
      l.backward();
      return l.item();
    });
    opt.step();
    return loss;
  };
  step();
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    await turn(); // one event-loop turn per step, as the trainer takes
    const t0 = performance.now();
    step();
    times.push(performance.now() - t0);
  }
  net.dispose();
  opt.dispose();
  x.dispose();
  y.dispose();
  return times;
}

/** One nnunet-ts run in a fresh process with the allocator setting's environment. */
function runEngineProcess(configIndex: number, steps: number, threads: number, setting: AllocatorSetting): number[] {
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, '--child', String(configIndex), String(steps), String(threads)], {
    encoding: 'utf8',
    env: { ...userEnvironment(), ...setting.env },
  });
  if (r.status !== 0) throw new Error(`nnunet-ts ${CONFIGS[configIndex].name} (${setting.label}) failed (${r.status ?? r.signal}): ${r.stderr}`);
  return EngineOutput.parse(JSON.parse(r.stdout.trim().split('\n').pop() ?? '')).step_ms;
}

function runTorch(c: Config, steps: number, threads: number, python: string): z.infer<typeof RefOutput> {
  const args = [path.join(here, 'train_step_ref.py'), '--dims', String(c.dims), '--size', String(c.size), '--batch', String(c.batch),
    '--steps', String(steps), '--threads', String(threads)];
  const r = spawnSync(python, args, { encoding: 'utf8', env: userEnvironment() });
  if (r.status !== 0) throw new Error(`${python} train_step_ref.py failed (${r.status ?? r.signal}): ${r.stderr}`);
  return RefOutput.parse(JSON.parse(r.stdout.trim().split('\n').pop() ?? ''));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { steps: { type: 'string', default: '5' }, rounds: { type: 'string', default: '2' }, threads: { type: 'string', default: '2' },
      python: { type: 'string', default: '/usr/bin/python3' }, allocators: { type: 'string', default: 'after,before' } },
  });
  const opts = Options.parse(values);
  let pyTorchVersion = '?';
  const rows: string[] = [];
  for (const [index, c] of CONFIGS.entries()) {
    const engine = new Map<AllocatorSetting, number[]>(opts.allocators.map((a) => [a, []]));
    const reference: number[] = [];
    for (let round = 1; round <= opts.rounds; round++) {
      for (const setting of opts.allocators) engine.get(setting)?.push(...runEngineProcess(index, opts.steps, opts.threads, setting));
      const ref = runTorch(c, opts.steps, opts.threads, opts.python);
      pyTorchVersion = ref.torch;
      reference.push(...ref.step_ms);
      console.error(`${c.name}: round ${round}/${opts.rounds} done`);
    }
    const b = median(reference);
    for (const [setting, times] of engine) {
      const a = median(times);
      rows.push(`| ${c.name} | ${setting.label} | ${a.toFixed(0)} | ${b.toFixed(0)} | ${(a / b).toFixed(3)} |`);
    }
  }
  console.log(`date: ${new Date().toISOString()}  machine: nproc ${os.availableParallelism()} (${os.cpus()[0]?.model ?? 'unknown CPU'})`);
  console.log(`libtorch ${torchVersion} (nnunet-ts), PyTorch ${pyTorchVersion} (${opts.python}), ${opts.threads} threads, ` +
    `${opts.rounds}×${opts.steps} timed steps each after one warm-up step per run, runs alternated A B A B`);
  console.log('');
  console.log('| config | nnunet-ts allocator | nnunet-ts ms/step (median) | PyTorch ms/step (median) | ratio nnunet-ts / PyTorch |');
  console.log('|---|---|---:|---:|---:|');
  for (const r of rows) console.log(r);
}

if (process.argv[2] === '--child') {
  setNumThreads(Number(process.argv[5]));
  console.log(JSON.stringify({ step_ms: await runEngine(CONFIGS[Number(process.argv[3])], Number(process.argv[4])) }));
} else await main();

/**
 * Engine benchmark: one U-Net training step (4 stages, 16→128 features, cross-entropy on the top output, SGD
 * Nesterov) through nnunet-ts and through PyTorch (bench/engine/train_step_ref.py, same network and thread count),
 * 3D (64³, batch 2) and 2D (128², batch 12). Runs alternate A B A B to cancel machine noise; prints the median
 * ms/step of each and the ratio nnunet-ts / PyTorch.
 * usage: node --import tsx bench/engine/train-step.ts [--steps 5] [--rounds 2] [--threads 2] [--python /usr/bin/python3]
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
import { PlainUNet } from './plain-unet.js';

const FEATURES = [16, 32, 64, 128];
const IN_CHANNELS = 1;
const NUM_CLASSES = 3;
const CONFIGS = [
  { name: '3D 64³, batch 2', dims: 3 as const, size: 64, batch: 2 },
  { name: '2D 128², batch 12', dims: 2 as const, size: 128, batch: 12 },
];

const here = path.dirname(fileURLToPath(import.meta.url));
const Options = z.object({
  steps: z.coerce.number().int().positive(),
  rounds: z.coerce.number().int().positive(),
  threads: z.coerce.number().int().positive(),
  python: z.string().min(1),
});
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
      python: { type: 'string', default: '/usr/bin/python3' } },
  });
  const opts = Options.parse(values);
  setNumThreads(opts.threads);
  let pyTorchVersion = '?';
  const rows: string[] = [];
  for (const c of CONFIGS) {
    const engine: number[] = [];
    const reference: number[] = [];
    for (let round = 1; round <= opts.rounds; round++) {
      engine.push(...(await runEngine(c, opts.steps)));
      const ref = runTorch(c, opts.steps, opts.threads, opts.python);
      pyTorchVersion = ref.torch;
      reference.push(...ref.step_ms);
      console.error(`${c.name}: round ${round}/${opts.rounds} done`);
    }
    const a = median(engine);
    const b = median(reference);
    rows.push(`| ${c.name} | ${a.toFixed(0)} | ${b.toFixed(0)} | ${(a / b).toFixed(3)} |`);
  }
  console.log(`date: ${new Date().toISOString()}  machine: nproc ${os.availableParallelism()} (${os.cpus()[0]?.model ?? 'unknown CPU'})`);
  console.log(`libtorch ${torchVersion} (nnunet-ts), PyTorch ${pyTorchVersion} (${opts.python}), ${opts.threads} threads, ` +
    `${opts.rounds}×${opts.steps} timed steps each after one warm-up step per run, runs alternated A B A B`);
  console.log('');
  console.log('| config | nnunet-ts ms/step (median) | PyTorch ms/step (median) | ratio nnunet-ts / PyTorch |');
  console.log('|---|---:|---:|---:|');
  for (const r of rows) console.log(r);
}

await main();

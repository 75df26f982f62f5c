// One nnU-Net training iteration of nnunet-ts on CUDA, with AMP (autocast float16 + GradScaler, the default there)
// or without (--no-amp), on a fixed random batch as bench/cuda/torch_amp_step.py takes it: the plans' network,
// Dice+CE deep supervision, SGD, clip at 12. Prints one JSON line {s_per_iter, all, scale}.
// usage: node --import tsx bench/cuda/amp-train-step.ts PLANS.json CONFIGURATION NUM_CLASSES IN_CHANNELS ITERS [--no-amp]
//        [--cpu: a smoke test of this script without a GPU; AMP then means CPU autocast, bfloat16]
import { readPlansFile, resolveConfiguration } from '../../src/planning/plans-schema.js';
import { Generator, configureCudnn, randint, randn, tidy } from '../../src/torch/index.js';
import type { Batch } from '../../src/data/batch-source.js';
import { GradScaler } from '../../src/training/amp/grad-scaler.js';
import { nnUNetTrainer } from '../../src/training/recipes/recipe.js';
import { trainStep } from '../../src/training/train-step.js';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const amp = !process.argv.includes('--no-amp');
const device = process.argv.includes('--cpu') ? 'cpu' : 'cuda';
const [plansFile, configurationName, classes, channels, iterations] = args;
const config = resolveConfiguration(await readPlansFile(plansFile), configurationName, plansFile);
const numClasses = Number(classes);
const network = nnUNetTrainer.buildNetwork({ configuration: config, inputChannels: Number(channels), numHeads: numClasses, source: plansFile }).initialize(new Generator(0));
network.to(device);
network.train();
network.deepSupervision = true;
const optimizer = nnUNetTrainer.createOptimizer(network.parameters(), nnUNetTrainer);
const strides = config.architecture?.arch_kwargs.strides as number[][];
// targets per deep-supervision level: the full-resolution map subsampled by the cumulative stride
const batch = tidy((): Batch => {
  const g = new Generator(1);
  const shape = [config.batch_size, Number(channels), ...config.patch_size];
  const x = randn(shape, g);
  let t = randint(0, numClasses, [config.batch_size, 1, ...config.patch_size], g).to('int16');
  const targets = [t];
  for (const s of strides.slice(1, -1)) {
    t = s.reduce((v, step, a) => v.slice(a + 2, 0, v.size(a + 2), step), t).contiguous();
    targets.push(t);
  }
  return { index: 0, data: x.toTypedArray() as Float32Array, dataShape: x.shape, targets: targets.map((v) => v.toTypedArray() as Int16Array), targetShapes: targets.map((v) => v.shape) };
});
configureCudnn(device);
const scaler = amp ? new GradScaler() : undefined;
const step = () => trainStep(network, optimizer, batch, numClasses, { batchDice: config.batch_dice }, device, { amp: scaler });
// warm-up: cuDNN benchmarks its algorithms on the first shapes it sees
for (let i = 0; i < 3; i++) step();
const all: number[] = [];
for (let i = 0; i < Number(iterations); i++) {
  const t0 = performance.now();
  // loss.item() inside the step synchronises with the GPU
  step();
  all.push((performance.now() - t0) / 1000);
}
const sorted = [...all].sort((a, b) => a - b);
console.log(JSON.stringify({ amp, s_per_iter: sorted[Math.floor(sorted.length / 2)], all, scale: scaler?.scale ?? null }));

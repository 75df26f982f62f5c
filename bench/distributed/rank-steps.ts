// One process of data-parallel.bench.ts: the trainer's setup on the Dataset004 3d_fullres plan, this rank's share of
// the global batch from the real BatchLoader, one untimed warm-up step, then `iters` timed trainSteps. With RANK and
// WORLD_SIZE set it is one rank over gloo; without, the single-process reference. Prints one JSON line.
// usage: node --import tsx bench/distributed/rank-steps.ts <preprocessedDatasetDir> <iters>
import path from 'node:path';
import { setImmediate as turn } from 'node:timers/promises';
import { BatchLoader } from '../../src/data/batch-loader.js';
import { listPreprocessedCases } from '../../src/preprocessing/preprocessed-store.js';
import { augmentationFor } from '../../src/training/augmentation-config.js';
import { rankEnvironment } from '../../src/training/launch/environment.js';
import { joinJob } from '../../src/training/launch/rank.js';
import { nnUNetTrainer } from '../../src/training/recipes/recipe.js';
import type { DistributedStrategy } from '../../src/training/strategy/distributed.js';
import { SingleProcessStrategy } from '../../src/training/strategy/strategy.js';
import { trainStep } from '../../src/training/train-step.js';
import { loadSetup } from '../../src/training/trainer.js';

const [dir, itersArg] = process.argv.slice(2);
const iters = Number(itersArg);
const env = rankEnvironment();
const distributed: DistributedStrategy | null = env ? joinJob(env, { device: 'cpu', timeoutMs: 600_000 }) : null;
const strategy = distributed ?? new SingleProcessStrategy();
const setup = await loadSetup(dir, 'nnUNetPlans', '3d_fullres', 12345);
const { config, network } = setup;
const dataDir = path.join(dir, config.data_identifier);
const share = strategy.batchShare(config.batch_size);
const optimizer = nnUNetTrainer.createOptimizer(network.parameters(), nnUNetTrainer);
const loader = new BatchLoader(
  {
    preprocessedDir: dataDir,
    caseIds: await listPreprocessedCases(dataDir),
    batchSize: share.size,
    patchSize: config.patch_size,
    oversampleForeground: nnUNetTrainer.oversampleForeground,
    seed: 12345,
    stream: 'train',
    share: { rank: strategy.rank, worldSize: strategy.worldSize, offset: share.offset, globalBatchSize: share.globalBatchSize },
    augmentation: { ...augmentationFor(config), mirrorAxes: setup.mirrorAxes ?? [] },
  },
  { numWorkers: 1 },
);
network.train();
network.deepSupervision = true;
const step = async () => {
  await turn();
  trainStep(network, optimizer, await loader.next(), setup.labels.numSegmentationHeads, { batchDice: config.batch_dice }, 'cpu', { strategy });
};
await step();
const reduceBefore = distributed?.reduceSeconds ?? 0;
const sPerIter: number[] = [];
for (let i = 0; i < iters; i++) {
  const t = performance.now();
  await step();
  sPerIter.push((performance.now() - t) / 1000);
}
await loader.close();
const total = sPerIter.reduce((a, b) => a + b, 0);
console.log(JSON.stringify({ rank: strategy.rank, worldSize: strategy.worldSize, localBatch: share.size, sPerIter, allReduceS: (distributed?.reduceSeconds ?? 0) - reduceBefore, totalS: total }));
await strategy.close();
process.exit(0);

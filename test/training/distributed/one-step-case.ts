// The one-step case of one-step.test.ts, shared by the test (one process, the whole batch) and its ranks (run as
// `node --import tsx one-step-case.ts OUT [batch-dice]` with RANK/WORLD_SIZE set: each takes its share of the batch).
import { writeFileSync } from 'node:fs';
import type { Batch } from '../../../src/data/batch-source.js';
import { tinyTrainingUNet } from '../tiny-network.js';
import { Generator, type Tensor, cat, randint, randn, tidy } from '../../../src/torch/index.js';
import { rankEnvironment } from '../../../src/training/launch/environment.js';
import { joinJob } from '../../../src/training/launch/rank.js';
import { nnUNetTrainer } from '../../../src/training/recipes/recipe.js';
import type { Strategy } from '../../../src/training/strategy/strategy.js';
import { trainStep } from '../../../src/training/train-step.js';

export const NUM_CLASSES = 3;
export const GLOBAL_BATCH = 4;
const PATCH = [8, 8, 8];

/** Every other voxel along each spatial axis: the nearest-neighbour target of a stride-2 level. */
function halve(t: Tensor): Tensor {
  let out = t;
  for (let d = 1; d < t.ndim; d++) out = out.slice(d, 0, out.size(d), 2);
  return out.contiguous();
}

/** Samples [offset, offset + size) of the seeded global batch. */
function batchOf(x: Tensor, full: Tensor, offset: number, size: number): Batch {
  const data = x.slice(0, offset, offset + size).contiguous();
  const targets = [full.slice(0, offset, offset + size).contiguous()];
  targets.push(halve(targets[0]));
  return {
    index: 0,
    data: data.toTypedArray() as Float32Array,
    dataShape: data.shape,
    targets: targets.map((t) => t.to('int16').toTypedArray() as Int16Array),
    targetShapes: targets.map((t) => [size, 1, ...t.shape.slice(1)]),
  };
}

/**
 * Weights before and after one nnU-Net training step (SGD, clipping) on this rank's share (or `part`), flattened.
 * With `batchDice`, the Dice sums run over the batch and, on several ranks, over ranks too (as the trainer wires it).
 */
export function oneStep(strategy?: Strategy, part?: { offset: number; size: number }, batchDice = false): { before: Tensor; after: Tensor } {
  return tidy(() => {
    const g = new Generator(3);
    const net = tinyTrainingUNet(3, NUM_CLASSES, g);
    const x = randn([GLOBAL_BATCH, 1, ...PATCH], g);
    const full = randint(0, NUM_CLASSES, [GLOBAL_BATCH, ...PATCH], g);
    const share = strategy?.batchShare(GLOBAL_BATCH) ?? part ?? { offset: 0, size: GLOBAL_BATCH };
    const flat = () => cat(net.parameters().map((p) => p.detach().reshape([-1])));
    const before = flat().clone();
    const optimizer = nnUNetTrainer.createOptimizer(net.parameters(), nnUNetTrainer);
    const sumOverRanks = batchDice && strategy && strategy.worldSize > 1 ? (t: Tensor) => strategy.sumWithGradient(t) : undefined;
    trainStep(net, optimizer, batchOf(x, full, share.offset, share.size), NUM_CLASSES, { batchDice, sumOverRanks }, 'cpu', { strategy });
    return { before, after: flat().clone() };
  });
}

const [out, mode] = process.argv.slice(2);
const env = rankEnvironment();
if (out && env) {
  const strategy = joinJob(env, { device: 'cpu', timeoutMs: 60_000 });
  const { after } = oneStep(strategy, undefined, mode === 'batch-dice');
  if (strategy.isMain) writeFileSync(out, after.toBuffer());
  await strategy.close();
}

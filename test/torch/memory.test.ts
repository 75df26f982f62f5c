// Memory stays flat over a long training run: 1,000 SGD steps of a small 3D U-Net (2 stages, 8³ input, batch 2).
import assert from 'node:assert/strict';
import { setImmediate as turn } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { F, Generator, getNumThreads, keep, optim, randint, randn, setNumThreads, tidy } from '../../src/torch/index.js';
import { PlainUNet } from '../../bench/engine/plain-unet.js';

const STEPS = 1000;
const previousThreads = getNumThreads();
// One thread: these shapes are far too small to gain from two, and the test shares the machine.
before(() => setNumThreads(1));
after(() => setNumThreads(previousThreads));

interface Run {
  rssAt100: number;
  rssAtEnd: number;
  firstLoss: number;
  lastLoss: number;
}

/** Trains from a fixed seed; `yieldEachStep` lets the event loop turn between steps, as an async trainer does. */
async function train(yieldEachStep: boolean): Promise<Run> {
  const g = new Generator(0);
  const net = new PlainUNet({ spatialDims: 3, inChannels: 1, numClasses: 3, features: [8, 16], generator: g });
  const opt = new optim.SGD(net.parameters(), { lr: 0.01, momentum: 0.99, nesterov: true, weightDecay: 3e-5 });
  const x = keep(randn([2, 1, 8, 8, 8], g));
  const y = keep(randint(0, 3, [2, 8, 8, 8], g));
  const run: Run = { rssAt100: 0, rssAtEnd: 0, firstLoss: NaN, lastLoss: NaN };
  for (let step = 1; step <= STEPS; step++) {
    opt.zeroGrad();
    const loss = tidy(() => {
      const l = F.crossEntropy(net.forward(x), y);
      l.backward();
      return l.item();
    });
    opt.step();
    if (yieldEachStep) await turn();
    if (step === 1) run.firstLoss = loss;
    if (step === 100) run.rssAt100 = process.memoryUsage().rss;
    run.lastLoss = loss;
  }
  run.rssAtEnd = process.memoryUsage().rss;
  net.dispose();
  opt.dispose();
  x.dispose();
  y.dispose();
  return run;
}

function assertFlat(run: Run): void {
  const mb = (b: number) => (b / 2 ** 20).toFixed(1);
  assert.ok(run.lastLoss < run.firstLoss / 10, `training did not progress: loss ${run.firstLoss} → ${run.lastLoss}`);
  assert.ok(run.rssAtEnd <= run.rssAt100 * 1.1, `RSS grew from ${mb(run.rssAt100)} MiB at step 100 to ${mb(run.rssAtEnd)} MiB at step ${STEPS}`);
}

test(`RSS after step ${STEPS} is within 10% of RSS after step 100 (event loop turns between steps)`, async () => {
  assertFlat(await train(true));
});

// Node runs napi_wrap finalizers only from SetImmediate: this fails unless dispose() frees the wrapper state itself.
test(`RSS stays flat in a synchronous loop of ${STEPS} steps`, async () => {
  assertFlat(await train(false));
});

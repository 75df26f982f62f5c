// The runs API on a real (tiny) training, not a simulated log: what the trainer writes is what the server reads.
// During the run an `epochStart` listener asks /api/runs (state running, epochs so far); afterwards epochs, best
// EMA and the early-stopping state must match what train() returned and the checkpoint holds.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { RunDetail, RunSummary } from '../../src/serve/api-types.js';
import { type RunningServer, startServer } from '../../src/serve/server.js';
import { TrainerEvents } from '../../src/training/events.js';
import { train } from '../../src/training/trainer.js';
import { type TinyDataset, tinyDataset } from '../training/integration/fixture.js';

let data: TinyDataset;
let server: RunningServer;

before(async () => {
  data = await tinyDataset({ numTraining: 6, shape: [10, 20, 20] });
  server = await startServer({ resultsFolder: data.results, modelFolders: [], port: 0, host: '127.0.0.1' });
});

after(async () => {
  await server?.close();
  if (data) rmSync(data.root, { recursive: true, force: true });
});

const runs = async () => (await (await fetch(`${server.url}/api/runs`)).json()) as RunSummary[];

test('a real training: running with its epochs while it trains, then stopped_early with the trainer\'s best EMA', { timeout: 120_000 }, async () => {
  const events = new TrainerEvents();
  const seen: Promise<RunSummary[]>[] = [];
  events.on('epochStart', () => void seen.push(runs()));
  const r = await train({ preprocessedDatasetDir: data.preprocessedDatasetDir, resultsDatasetDir: data.resultsDatasetDir, configuration: '3d_fullres', fold: 1, numEpochs: 12, iterationsPerEpoch: 1, valIterations: 1, earlyStopping: { patience: 1, minDelta: 0.5 }, events, echo: () => {} });
  assert.ok(r.stoppedEarly, 'the run stopped early');
  const during = await Promise.all(seen);
  // asked at the start of epoch e (answered while it trains): a running training with at least e epochs done
  assert.equal(during.length, r.epochs);
  during.forEach((list, e) => {
    assert.equal(list.length, 1);
    assert.deepEqual([list[0].state, list[0].fold, list[0].configuration], ['running', 1, '3d_fullres']);
    assert.ok(list[0].epochs >= e && list[0].epochs <= r.epochs, `epoch ${e}: ${list[0].epochs} epochs listed`);
  });
  const [done] = await runs();
  assert.equal(done.state, 'stopped_early');
  assert.equal(done.epochs, r.epochs);
  assert.equal(done.dataset, data.datasetName);
  // the log rounds Dice to 4 decimals; the EMA replayed from it stays within that
  assert.ok(r.bestEma !== null && done.best_ema !== null && Math.abs(done.best_ema - r.bestEma) < 1e-4, `best_ema ${done.best_ema} vs ${r.bestEma}`);
  const d = (await (await fetch(`${server.url}/api/runs/${encodeURIComponent(done.id)}`)).json()) as RunDetail;
  assert.equal(d.best_epoch, r.bestEpoch);
  assert.equal(d.curves.epoch.length, r.epochs);
  assert.ok(d.curves.lr.every((v) => v !== null && v > 0) && d.curves.epoch_time.every((v) => v !== null && v > 0));
  const final = d.checkpoints.find((c) => c.name === 'checkpoint_final.pth');
  assert.deepEqual([final?.epoch, final?.best_ema], [r.epochs, r.bestEma]);
  assert.equal(d.early_stopping?.stopped, true);
  assert.equal(d.early_stopping?.patience, 1);
  assert.equal(d.early_stopping?.metric, 'ema_fg_dice');
});

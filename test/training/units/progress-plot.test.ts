import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MetricLogger } from '../../../src/training/metric-logger.js';
import { renderProgressPlot, writeProgressPlot } from '../../../src/training/progress-plot.js';
import { LrSchedule } from '../../../src/training/lr-schedule.js';

function pngSize(png: Uint8Array): { width: number; height: number } {
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  assert.equal(Buffer.from(png.subarray(12, 16)).toString('ascii'), 'IHDR');
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

function trainingLog(epochs: number) {
  const logger = new MetricLogger();
  const lr = new LrSchedule({ initialLr: 0.01, numEpochs: 1000 });
  for (let e = 0; e < epochs; e++) {
    logger.log('epoch_start_timestamps', 1000 + 60 * e, e);
    logger.log('lrs', lr.scheduled(e), e);
    logger.log('train_losses', -0.3 - 0.5 * (1 - Math.exp(-e / 10)), e);
    logger.log('val_losses', -0.25 - 0.45 * (1 - Math.exp(-e / 10)) + 0.02 * Math.sin(e), e);
    logger.log('mean_fg_dice', 0.4 + 0.45 * (1 - Math.exp(-e / 8)) + 0.03 * Math.cos(3 * e), e);
    logger.log('dice_per_class_or_region', [0.8, 0.85], e);
    logger.log('epoch_end_timestamps', 1000 + 60 * e + 50 + (e % 3), e);
  }
  return logger.stateDict();
}

test('progress.png: three stacked panels at width x 1.8 width, written atomically', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'progress-'));
  try {
    const file = join(dir, 'progress.png');
    await writeProgressPlot(trainingLog(40), file, { width: 600 });
    const png = await readFile(file);
    assert.deepEqual(pngSize(png), { width: 600, height: 1080 });
    assert.ok(png.length > 20_000, `only ${png.length} bytes: the panels are probably empty`);
    assert.deepEqual(await readdir(dir), ['progress.png']); // no temp file left behind
  } finally {
    await rm(dir, { recursive: true });
  }
});

test('more data draws more ink; an incomplete last epoch is left out', async () => {
  const empty = await renderProgressPlot(trainingLog(0), { width: 400 });
  const full = await renderProgressPlot(trainingLog(60), { width: 400 });
  assert.deepEqual(pngSize(empty), { width: 400, height: 720 });
  assert.ok(full.length > empty.length * 1.3, `${full.length} vs ${empty.length}`);
  // a half-logged epoch (train loss only) renders like the complete ones before it
  const log = trainingLog(5);
  const partial = { ...log, train_losses: [...log.train_losses, 5] };
  assert.deepEqual(await renderProgressPlot(partial, { width: 400 }), await renderProgressPlot(log, { width: 400 }));
});

test('default size renders in under 0.5 s', async () => {
  const log = trainingLog(1000);
  await renderProgressPlot(log); // first call loads fonts
  const t0 = performance.now();
  const png = await renderProgressPlot(log);
  const ms = performance.now() - t0;
  assert.deepEqual(pngSize(png), { width: 1200, height: 2160 });
  assert.ok(ms < 500, `took ${ms.toFixed(0)} ms`);
});

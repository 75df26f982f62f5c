import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LrSchedule, polyLr } from '../../../src/training/lr-schedule.js';

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12 * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

test('poly: 0.01 * (1 - e/1000)^0.9', () => {
  const s = new LrSchedule({ initialLr: 0.01, numEpochs: 1000 });
  assert.equal(s.scheduled(0), 0.01);
  close(s.scheduled(500), 0.01 * Math.exp(0.9 * Math.log(0.5))); // 0.005358867...
  assert.ok(Math.abs(s.scheduled(500) - 0.005358867) < 1e-9);
  close(s.scheduled(999), 0.01 * 10 ** -2.7); // (1/1000)^0.9
  close(polyLr(1, 1, 4, 2), 0.5625);
  assert.throws(() => s.scheduled(1000), /outside/);
  assert.throws(() => s.scheduled(-1), /outside/);
});

test('warmup (nnUNetTrainer_warmup): linear (e+1)/W, then poly restarting at the full LR', () => {
  const s = new LrSchedule({ initialLr: 0.01, numEpochs: 1000, warmupEpochs: 50 });
  close(s.scheduled(0), 0.0002);
  close(s.scheduled(24), 0.005);
  close(s.scheduled(49), 0.01);
  close(s.scheduled(50), 0.01);
  close(s.scheduled(525), 0.01 * 0.5 ** 0.9); // 475 of the remaining 950 epochs
  assert.throws(() => new LrSchedule({ initialLr: 0.01, numEpochs: 10, warmupEpochs: 10 }), (e: Error) => e.name === 'UserError');
});

test('an override that returns null leaves the schedule in place', () => {
  const s = new LrSchedule({ initialLr: 0.01, numEpochs: 10 });
  assert.equal(s.lrAt(3), s.scheduled(3));
  assert.equal(s.lrAt(3, { lrOverride: () => null }), s.scheduled(3));
  close(s.lrAt(3, { lrOverride: (e) => e * 1e-4 }), 3e-4);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MetricLogger, type MetricLoggerState } from '../../../src/training/metric-logger.js';

test('EMA: first value is the raw Dice, then 0.9 * previous + 0.1 * new', () => {
  const l = new MetricLogger();
  l.log('mean_fg_dice', 0.5, 0);
  l.log('mean_fg_dice', 0.6, 1);
  l.log('mean_fg_dice', 0.8, 2);
  const ema = l.get('ema_fg_dice');
  assert.equal(ema[0], 0.5);
  assert.ok(Math.abs(ema[1] - 0.51) < 1e-12); // 0.45 + 0.06
  assert.ok(Math.abs(ema[2] - 0.539) < 1e-12); // 0.459 + 0.08
});

test('overwriting an epoch recomputes its EMA from the previous epoch', () => {
  const l = new MetricLogger();
  l.log('mean_fg_dice', 0.5, 0);
  l.log('mean_fg_dice', 0.6, 1);
  l.log('mean_fg_dice', 0.7, 1);
  assert.deepEqual(l.get('mean_fg_dice'), [0.5, 0.7]);
  assert.ok(Math.abs(l.get('ema_fg_dice')[1] - 0.52) < 1e-12);
  const first = new MetricLogger();
  first.log('mean_fg_dice', 0.5, 0);
  first.log('mean_fg_dice', 0.9, 0); // overwrite of epoch 0: the EMA restarts from the raw value
  assert.deepEqual(first.get('ema_fg_dice'), [0.9]);
});

test('exactly one value per epoch: skipping ahead or going back more than one epoch throws', () => {
  const l = new MetricLogger();
  l.log('train_losses', -0.1, 0);
  assert.throws(() => l.log('train_losses', -0.2, 2), /train_losses for epoch 2: it holds 1 value/);
  l.log('train_losses', -0.2, 1);
  l.log('train_losses', -0.3, 2);
  assert.throws(() => l.log('train_losses', -0.4, 0), /epoch 0: it holds 3 value/);
  assert.throws(() => l.log('val_losses', 1, -1), /non-negative integer/);
  assert.throws(() => l.log('lrs', 0.01, 1.5), /non-negative integer/);
  assert.deepEqual(l.get('train_losses'), [-0.1, -0.2, -0.3]);
});

test('best EMA: strictly greater only, NaN never, best epoch tracked', () => {
  const l = new MetricLogger();
  const dice = [0.4, NaN, 0.9];
  const news: boolean[] = [];
  l.log('mean_fg_dice', 0.4, 0);
  news.push(l.checkBest(0));
  l.log('ema_fg_dice', 0.4, 0); // same value again: not strictly greater
  news.push(l.checkBest(0));
  l.log('mean_fg_dice', dice[1], 1); // NaN Dice -> NaN EMA, never best
  news.push(l.checkBest(1));
  assert.deepEqual(news, [true, false, false]);
  assert.equal(l.bestEma, 0.4);
  assert.equal(l.bestEpoch, 0);
  assert.ok(Number.isNaN(l.get('ema_fg_dice')[1]));
  assert.throws(() => l.checkBest(5), /no ema_fg_dice logged for epoch 5/);
});

test('best tracking on a rising then falling sequence', () => {
  const l = new MetricLogger();
  const raw = [0.5, 0.9, 0.9, 0.1, 0.1];
  const best = raw.map((d, e) => {
    l.log('mean_fg_dice', d, e);
    return l.checkBest(e);
  });
  // ema: 0.5, 0.54, 0.576, 0.5284, 0.48556
  assert.deepEqual(best, [true, true, true, false, false]);
  assert.equal(l.bestEpoch, 2);
  assert.ok(Math.abs((l.bestEma ?? 0) - 0.576) < 1e-12);
});

test('stateDict is the nnU-Net logging dict; loadStateDict restores lists and replays the best', () => {
  const l = new MetricLogger();
  for (let e = 0; e < 3; e++) {
    l.log('mean_fg_dice', [0.3, 0.7, 0.2][e], e);
    l.log('dice_per_class_or_region', [0.1 * e, 0.2 * e], e);
    l.log('train_losses', 1 - e, e);
    l.log('val_losses', 2 - e, e);
    l.log('lrs', 0.01, e);
    l.log('epoch_start_timestamps', 100 * e, e);
    l.log('epoch_end_timestamps', 100 * e + 50, e);
    l.checkBest(e);
  }
  const state = l.stateDict();
  assert.deepEqual(Object.keys(state).sort(), [
    'dice_per_class_or_region', 'ema_fg_dice', 'epoch_end_timestamps', 'epoch_start_timestamps', 'lrs', 'mean_fg_dice', 'train_losses', 'val_losses',
  ]);
  const json = JSON.parse(JSON.stringify(state)) as MetricLoggerState;
  const m = new MetricLogger();
  m.loadStateDict(json);
  assert.deepEqual(m.stateDict(), state);
  assert.equal(m.bestEpoch, l.bestEpoch);
  assert.equal(m.bestEma, l.bestEma);
  assert.equal(m.completeEpoch, 2);
  state.lrs.push(5); // the state is a copy, not the live lists
  assert.equal(m.get('lrs').length, 3);
  m.log('lrs', 0.005, 3);
  assert.throws(() => m.loadStateDict({ ...json, lrs: 'x' }), /invalid logging state/);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EarlyStopping, type EarlyStoppingAction, type EarlyStoppingOptions } from '../../../src/training/early-stopping.js';
import { LrSchedule } from '../../../src/training/lr-schedule.js';

/** Feed values for epochs 0.. and return the actions up to and including the first 'stop'. */
function run(es: EarlyStopping, values: number[], lr = 0.01): EarlyStoppingAction[] {
  const actions: EarlyStoppingAction[] = [];
  for (let e = 0; e < values.length; e++) {
    const a = es.update(e, values[e], lr);
    actions.push(a);
    if (a === 'stop') break;
  }
  return actions;
}

const make = (o: Partial<EarlyStoppingOptions> = {}) => new EarlyStopping({ patience: 3, metric: 'ema_fg_dice', ...o });

test('plateau: stops after `patience` epochs without improvement', () => {
  const es = make();
  assert.deepEqual(run(es, [0.5, 0.6, 0.6, 0.6, 0.6, 0.6]), ['continue', 'continue', 'continue', 'continue', 'stop']);
  assert.equal(es.bestValue, 0.6);
  assert.equal(es.bestEpoch, 1);
  assert.equal(es.triggerEpoch, 4);
  assert.equal(
    es.triggerMessage(),
    'Early stopping at epoch 4: best ema_fg_dice 0.6000 reached at epoch 1 (no improvement by more than 0 for 3 epochs)',
  );
  assert.equal(es.stopMessage(), 'Training stopped early at epoch 4: best ema_fg_dice 0.6000 reached at epoch 1');
  assert.throws(() => es.update(5, 0.9), /after training was stopped/);
});

test('noisy: each new best resets the counter', () => {
  const es = make();
  const actions = run(es, [0.5, 0.7, 0.65, 0.72, 0.6, 0.71, 0.69, 0.7]);
  assert.equal(actions.length, 7);
  assert.equal(actions.at(-1), 'stop');
  assert.equal(es.bestValue, 0.72);
  assert.equal(es.bestEpoch, 3);
});

test('minDelta: gains not larger than minDelta do not count', () => {
  const es = make({ patience: 2, minDelta: 0.05 });
  assert.deepEqual(run(es, [0.5, 0.54, 0.56, 0.58, 0.6]), ['continue', 'continue', 'continue', 'continue', 'stop']);
  assert.equal(es.bestValue, 0.56);
  assert.equal(es.bestEpoch, 2);
});

test('NaN metric counts as no improvement and never becomes best', () => {
  const a = make({ patience: 2 });
  assert.deepEqual(run(a, [NaN, NaN, 0.3]), ['continue', 'stop']);
  assert.equal(a.bestValue, null);
  assert.match(a.triggerMessage(), /best ema_fg_dice none reached at epoch none/);
  const b = make();
  assert.deepEqual(run(b, [NaN, NaN, 0.3, NaN, NaN]), ['continue', 'continue', 'continue', 'continue', 'continue']);
  assert.equal(b.bestValue, 0.3);
  assert.equal(b.counter, 2);
});

test('val_loss is minimized', () => {
  const es = new EarlyStopping({ patience: 2, metric: 'val_loss', minDelta: 0.005 });
  assert.equal(es.mode, 'min');
  assert.equal(make().mode, 'max');
  assert.deepEqual(run(es, [1.0, 0.8, 0.85, 0.79, 0.795, 0.9]), ['continue', 'continue', 'continue', 'continue', 'continue', 'stop']);
  assert.equal(es.bestValue, 0.79);
  assert.equal(es.bestEpoch, 3);
});

test('anneal: LR falls linearly from the trigger LR over K epochs, then stop', () => {
  const es = make({ patience: 2, annealEpochs: 4 });
  assert.equal(es.update(0, 0.5, 0.01), 'continue');
  assert.equal(es.update(1, 0.4, 0.009), 'continue');
  assert.equal(es.update(2, 0.4, 0.008), 'anneal');
  assert.equal(es.annealStartEpoch, 3);
  assert.equal(es.annealStartLr, 0.008);
  assert.match(es.triggerMessage(), /^Early stopping at epoch 2: best ema_fg_dice 0\.5000 reached at epoch 0 .*annealing the learning rate from 0\.008 to 0 over epochs 3-6$/);
  const lrs = [2, 3, 4, 5, 6, 7].map((e) => es.lrOverride(e));
  assert.deepEqual(lrs, [null, 0.008, 0.006, 0.004, 0.002, null]);
  // composition with the schedule: the override wins while annealing
  const schedule = new LrSchedule({ initialLr: 0.01, numEpochs: 1000 });
  assert.equal(schedule.lrAt(4, es), 0.006);
  assert.equal(schedule.lrAt(7, es), schedule.scheduled(7));
  // an improvement during the anneal is recorded but does not cancel it
  assert.equal(es.update(3, 0.9), 'continue');
  assert.equal(es.bestEpoch, 3);
  assert.equal(es.update(4, 0.1), 'continue');
  assert.equal(es.update(5, 0.1), 'continue');
  assert.equal(es.update(6, 0.1), 'stop');
  assert.equal(es.stopMessage(), 'Training stopped early at epoch 6: best ema_fg_dice 0.9000 reached at epoch 3');
});

test('stateDict / loadStateDict round trip through JSON, mid-anneal', () => {
  const es = make({ patience: 1, annealEpochs: 3 });
  es.update(0, 0.5, 0.01);
  es.update(1, 0.4, 0.0095);
  es.update(2, 0.45);
  const state = JSON.parse(JSON.stringify(es.stateDict())) as unknown;
  const resumed = make({ patience: 1, annealEpochs: 3 });
  resumed.loadStateDict(state);
  assert.deepEqual(resumed.stateDict(), es.stateDict());
  // trigger at epoch 1 (patience 1), anneal epochs 2-4
  assert.equal(resumed.lrOverride(3), 0.0095 * (1 - 1 / 3));
  for (const x of [resumed, es]) {
    assert.equal(x.update(3, 0.1), 'continue');
    assert.equal(x.update(4, 0.1), 'stop');
  }
  const other = new EarlyStopping({ patience: 1, metric: 'val_loss' });
  assert.throws(() => other.loadStateDict(state), (e: Error) => e.name === 'UserError' && /tracked ema_fg_dice/.test(e.message));
  assert.throws(() => other.loadStateDict({ counter: 'x' }), /invalid state/);
});

test('misuse is refused', () => {
  const es = make({ patience: 1, annealEpochs: 2 });
  es.update(0, 0.5, 0.01);
  assert.throws(() => es.update(0, 0.5), /epoch 0 comes after epoch 0/);
  assert.throws(() => es.update(1, 0.1), /needs the current LR/);
  assert.throws(() => make().triggerMessage(), /not triggered/);
  assert.throws(() => new EarlyStopping({ patience: 0, metric: 'val_loss' }), (e: Error) => e.name === 'UserError');
});

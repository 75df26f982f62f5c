// The training loop, as nnU-Net's run_training: epochs of training iterations, then validation iterations for the
// pseudo Dice. It only moves batches through steps and emits events; callbacks decide (early stopping, best
// checkpoint) and do the side work (plot, log). Batch k is a pure function of (seed, stream, k), so a run resumed
// at (epoch, iteration) continues on exactly the batches the uninterrupted run would have seen.
import type { BatchLoader } from '../data/batch-loader.js';
import type { SegmentationNetwork } from '../model/network-registry.js';
import { type Device, configureCudnn, type optim, releaseFreeMemory } from '../torch/index.js';
import type { CheckpointKind, EpochMetrics, TrainingCallback, TrainingContext } from './callbacks/callback.js';
import type { DiceCeOptions } from './loss/dice-ce.js';
import type { StopRequest } from './stop-signal.js';
import type { Strategy } from './strategy/strategy.js';
import { maybeKillAt } from '../fault-injection.js';
import { trainStep, validationStep } from './train-step.js';
import type { GradScaler } from './amp/grad-scaler.js';

export interface LoopState {
  /** The epoch to run next (or the one in progress when startIteration > 0). */
  epoch: number;
  startIteration: number;
  /** Sum and count of the finite training losses so far in the epoch in progress. */
  partialLossSum: number;
  partialFiniteSteps: number;
  /** Consecutive skipped (non-finite) steps, across epochs. */
  nonfiniteStreak: number;
}

export interface LoopSetup {
  network: SegmentationNetwork;
  optimizer: optim.Optimizer;
  numHeads: number;
  loss: DiceCeOptions;
  device: Device;
  strategy: Strategy;
  trainLoader: BatchLoader;
  valLoader: BatchLoader;
  valIterations: number;
  saveEvery: number;
  lrAt(epoch: number): number;
  callbacks: readonly TrainingCallback[];
  ctx: TrainingContext;
  stop: StopRequest;
  /** Training stops after this many consecutive skipped steps. */
  maxNonFiniteSteps: number;
  /**
   * Mixed precision with this loss scaler (the trainer makes one on CUDA unless AMP is turned off: ampDefault): its
   * skips are the loop's non-finite skips, counted in the same divergence streak. Absent or null: float32.
   */
  amp?: GradScaler | null;
  /** cuDNN's deterministic algorithms instead of nnU-Net's benchmarking (CUDA only; slower). Default false. */
  deterministic?: boolean;
  /** Global iteration indices whose loss is made NaN (test hook). */
  injectNonFinite: ReadonlySet<number>;
  /** Writes a checkpoint that resumes at `nextEpoch` with the loop state (mid-epoch when state.startIteration > 0). */
  checkpoint(kind: CheckpointKind, nextEpoch: number, state?: LoopState): Promise<void>;
}

export interface LoopOutcome {
  /** Epochs completed (the next epoch to run). */
  epochs: number;
  stoppedEarly: boolean;
  /** Where the signal stopped the run, for the log. */
  interruptedAt: string;
  /** Set when maxNonFiniteSteps consecutive steps were skipped: the global index of the last one. */
  divergedAt: number | null;
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/**
 * Train iterations [startIteration, iterations) of `epoch`, updating `state`'s partial sums; false when a stop
 * signal or divergence cut the epoch short.
 */
async function trainEpoch(s: LoopSetup, epoch: number, state: LoopState, outcome: LoopOutcome): Promise<boolean> {
  const iterations = s.ctx.iterationsPerEpoch;
  for (let it = state.startIteration; it < iterations; it++) {
    // one event-loop turn per iteration, so that SIGINT/SIGTERM handlers and worker messages run between steps
    await nextTurn();
    const global = epoch * iterations + it;
    const r = trainStep(s.network, s.optimizer, await s.trainLoader.next(), s.numHeads, s.loss, s.device, { strategy: s.strategy, injectNonFinite: s.injectNonFinite.has(global), amp: s.amp ?? undefined });
    state.startIteration = it + 1;
    if (r.skipped) {
      state.nonfiniteStreak++;
      s.ctx.print(`skipped iteration ${global}: ${r.skipped} (${state.nonfiniteStreak} in a row; weights and optimizer state unchanged)`);
      if (state.nonfiniteStreak >= s.maxNonFiniteSteps) {
        outcome.divergedAt = global;
        return false;
      }
    } else {
      state.nonfiniteStreak = 0;
      state.partialLossSum += r.loss;
      state.partialFiniteSteps++;
    }
    s.ctx.events.emit('iteration', { epoch, iteration: it + 1, iterations, loss: r.loss });
    if (s.strategy.broadcast(s.stop.signal) && it + 1 < iterations) {
      outcome.interruptedAt = `during epoch ${epoch}, after iteration ${it + 1} of ${iterations}`;
      await s.checkpoint('latest', epoch, state);
      return false;
    }
  }
  return true;
}

/**
 * nnU-Net's validation epoch: tp/fp/fn summed over all batches (and ranks), Dice per evaluated class (foreground
 * label or region, as many as the validation step reports).
 */
async function validate(s: LoopSetup): Promise<{ valLoss: number; dice: number[] }> {
  let counts: number[] = [];
  let valLoss = 0;
  for (let it = 0; it < s.valIterations; it++) {
    const r = validationStep(s.network, await s.valLoader.next(), s.numHeads, s.loss, s.device, Boolean(s.amp));
    maybeKillAt('validation');
    valLoss += r.loss;
    if (counts.length === 0) counts = new Array<number>(3 * r.tp.length).fill(0);
    r.tp.forEach((v, c) => {
      counts[3 * c] += v;
      counts[3 * c + 1] += r.fp[c];
      counts[3 * c + 2] += r.fn[c];
    });
  }
  const summed = s.strategy.allReduceSum(counts);
  const dice = Array.from({ length: counts.length / 3 }, (_, c) => {
    const [tp, fp, fn] = summed.slice(3 * c, 3 * c + 3);
    return tp + fp + fn === 0 ? Number.NaN : (2 * tp) / (2 * tp + fp + fn);
  });
  return { valLoss: s.strategy.allReduceMean([valLoss / s.valIterations])[0], dice };
}

function nanMean(values: number[]): number {
  const finite = values.filter((d) => !Number.isNaN(d));
  return finite.length ? finite.reduce((a, b) => a + b, 0) / finite.length : Number.NaN;
}

export async function runLoop(s: LoopSetup, state: LoopState): Promise<LoopOutcome> {
  const { ctx, stop } = s;
  const { logger, numEpochs } = ctx;
  const outcome: LoopOutcome = { epochs: state.epoch, stoppedEarly: false, interruptedAt: '', divergedAt: null };
  configureCudnn(s.device, { deterministic: s.deterministic });
  for (let epoch = state.epoch; epoch < numEpochs; epoch++) {
    logger.log('epoch_start_timestamps', Date.now() / 1000, epoch);
    const lr = s.lrAt(epoch);
    s.optimizer.lr = lr;
    logger.log('lrs', lr, epoch);
    ctx.print(`Epoch ${epoch}`);
    ctx.print(`Current learning rate: ${lr.toFixed(5)}`);
    s.network.train();
    s.network.deepSupervision = true;
    ctx.events.emit('epochStart', { epoch, lr, iterations: ctx.iterationsPerEpoch, startIteration: state.startIteration });
    const completed = await trainEpoch(s, epoch, state, outcome);
    ctx.events.emit('trainEpochEnd', { epoch, completed });
    if (!completed) {
      outcome.epochs = epoch;
      return outcome;
    }
    // the mean over the steps that trained (NaN when none did)
    const trainLoss = s.strategy.allReduceMean([state.partialLossSum / state.partialFiniteSteps])[0];
    Object.assign(state, { startIteration: 0, partialLossSum: 0, partialFiniteSteps: 0 });
    logger.log('train_losses', trainLoss, epoch);

    s.network.eval();
    const { valLoss, dice } = await validate(s);
    // the epoch's freed activations go back to the system, so the heap's resident size stays that of one epoch
    releaseFreeMemory();
    const meanFgDice = nanMean(dice);
    logger.log('val_losses', valLoss, epoch);
    logger.log('dice_per_class_or_region', dice, epoch);
    logger.log('mean_fg_dice', meanFgDice, epoch);
    logger.log('epoch_end_timestamps', Date.now() / 1000, epoch);
    const epochSeconds = logger.get('epoch_end_timestamps')[epoch] - logger.get('epoch_start_timestamps')[epoch];
    ctx.print(`train_loss ${trainLoss.toFixed(4)}`);
    ctx.print(`val_loss ${valLoss.toFixed(4)}`);
    ctx.print(`Pseudo dice [${dice.map((d) => d.toFixed(4)).join(', ')}]`);
    ctx.print(`Epoch time: ${epochSeconds.toFixed(2)} s`);
    const metrics: EpochMetrics = { epoch, lr, trainLoss, valLoss, pseudoDice: dice, meanFgDice, emaFgDice: logger.get('ema_fg_dice')[epoch] };
    ctx.events.emit('validation', { epoch, trainLoss, valLoss, pseudoDice: dice, meanFgDice, emaFgDice: metrics.emaFgDice, epochSeconds });

    let stopRequested = false;
    for (const c of s.callbacks) if ((await c.onValidationEnd?.(ctx, metrics)) === 'stop') stopRequested = true;
    // one decision for all ranks
    const stopEarly = s.strategy.broadcast(stopRequested);
    const signalled = s.strategy.broadcast(stop.signal) !== null;
    if ((epoch + 1) % s.saveEvery === 0 || stopEarly || signalled) await s.checkpoint('latest', epoch + 1, state);
    for (const c of s.callbacks) await c.onEpochEnd?.(ctx, metrics);
    outcome.epochs = epoch + 1;
    if (stopEarly) {
      outcome.stoppedEarly = true;
      return outcome;
    }
    if (signalled) return outcome;
  }
  return outcome;
}

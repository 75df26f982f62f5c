// Reads a fold's training_log_*.txt files back into per-epoch values, as the trainer (loop.ts, callbacks) and
// nnU-Net's Python trainer write them: "<time>: Epoch 3", "<time>: Current learning rate: 0.00973", "train_loss …",
// "val_loss …", "Pseudo dice [0.81, 0.79]" (upstream: "[np.float32(0.81), …]"), "Epoch time: 12.3 s". The log is the
// one record that grows during the epoch, so the runs page follows it rather than the checkpoints.
import { MetricLogger } from '../training/metric-logger.js';
import type { Curves } from './api-types.js';

export interface EpochRecord {
  epoch: number;
  lr: number | null;
  trainLoss: number | null;
  valLoss: number | null;
  pseudoDice: number[] | null;
  epochTime: number | null;
}

export interface LogSummary {
  /** Epochs in order from 0; an epoch is complete once its "Epoch time" line is there. */
  epochs: EpochRecord[];
  stoppedEarly: boolean;
  finished: boolean;
  /** From the early-stopping settings line at the start, or the trigger line. */
  earlyStopping: { metric: string; patience: number; minDelta: number } | null;
}

const LINE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?: (.*)$/;
const NUMBER = '(-?(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][-+]?\\d+)?|nan|-?inf)';
const PATTERNS = {
  epoch: /^Epoch (\d+)$/,
  lr: new RegExp(`^Current learning rate: ${NUMBER}$`),
  trainLoss: new RegExp(`^train_loss ${NUMBER}$`),
  valLoss: new RegExp(`^val_loss ${NUMBER}$`),
  dice: /^Pseudo dice \[(.*)\]$/,
  epochTime: new RegExp(`^Epoch time: ${NUMBER} s$`),
  resume: /^Resuming from \S+ at epoch (\d+)/,
  stopped: /^Training stopped early at epoch \d+/,
  done: /^Training done after \d+ epochs/,
  trigger: /^Early stopping at epoch \d+: best (\S+) .* \(no improvement by more than (\S+) for (\d+) epochs\)/,
  // the settings line at the start of a run with early stopping
  settings: /^Early stopping on (\S+): patience (\d+), min delta (\S+)/,
};

function num(text: string): number {
  if (text === 'nan') return Number.NaN;
  if (text.endsWith('inf')) return text.startsWith('-') ? -Infinity : Infinity;
  return Number(text);
}

function diceValues(inner: string): number[] {
  const plain = inner.replace(/np\.float\d+\(([^)]*)\)/g, '$1');
  return plain.trim() === '' ? [] : plain.split(',').map((v) => num(v.trim()));
}

/** Folds the lines of one or more logs (in the order they were written) into a summary. */
export class TrainingLogReader {
  private readonly byEpoch: EpochRecord[] = [];
  private current: EpochRecord | null = null;
  stoppedEarly = false;
  finished = false;
  earlyStopping: LogSummary['earlyStopping'] = null;

  /** A new log file begins (a resumed run): a partial epoch of the old one must not absorb the new lines. */
  startFile(): void {
    this.current = null;
  }

  line(text: string): void {
    const m = LINE.exec(text);
    if (!m) return;
    const message = m[1];
    let g: RegExpExecArray | null;
    if ((g = PATTERNS.epoch.exec(message))) {
      const epoch = Number(g[1]);
      // a resumed run repeats epochs: the later lines replace them
      this.byEpoch.length = Math.min(this.byEpoch.length, epoch);
      if (this.byEpoch.length < epoch) {
        this.current = null; // a gap (an earlier log is missing): nothing is attributed until it closes
        return;
      }
      this.current = { epoch, lr: null, trainLoss: null, valLoss: null, pseudoDice: null, epochTime: null };
      this.byEpoch.push(this.current);
      this.finished = false;
    } else if ((g = PATTERNS.resume.exec(message))) {
      this.byEpoch.length = Math.min(this.byEpoch.length, Number(g[1]));
      this.current = null;
      this.stoppedEarly = false;
      this.finished = false;
    } else if (PATTERNS.stopped.test(message)) this.stoppedEarly = true;
    else if (PATTERNS.done.test(message)) this.finished = true;
    else if ((g = PATTERNS.trigger.exec(message))) this.earlyStopping = { metric: g[1], minDelta: Number(g[2]), patience: Number(g[3]) };
    else if ((g = PATTERNS.settings.exec(message))) this.earlyStopping = { metric: g[1], patience: Number(g[2]), minDelta: Number(g[3]) };
    else if (this.current) this.epochLine(this.current, message);
  }

  private epochLine(e: EpochRecord, message: string): void {
    let g: RegExpExecArray | null;
    if ((g = PATTERNS.lr.exec(message))) e.lr = num(g[1]);
    else if ((g = PATTERNS.trainLoss.exec(message))) e.trainLoss = num(g[1]);
    else if ((g = PATTERNS.valLoss.exec(message))) e.valLoss = num(g[1]);
    else if ((g = PATTERNS.dice.exec(message))) e.pseudoDice = diceValues(g[1]);
    else if ((g = PATTERNS.epochTime.exec(message))) e.epochTime = num(g[1]);
  }

  summary(): LogSummary {
    const complete = this.byEpoch.findIndex((e) => e.epochTime === null);
    const epochs = structuredClone(complete === -1 ? this.byEpoch : this.byEpoch.slice(0, complete));
    return { epochs, stoppedEarly: this.stoppedEarly, finished: this.finished, earlyStopping: this.earlyStopping };
  }
}

function nanMean(values: readonly number[]): number {
  const finite = values.filter((v) => !Number.isNaN(v));
  return finite.length ? finite.reduce((a, b) => a + b, 0) / finite.length : Number.NaN;
}

/** JSON has no NaN: NaN and ±Infinity become null. */
const finite = (v: number | null): number | null => (v !== null && Number.isFinite(v) ? v : null);

/**
 * The curves of the completed epochs, with the Dice EMA and the best EMA replayed through nnU-Net's logger
 * (MetricLogger), so that they are computed exactly as the trainer computes them.
 */
export function curvesOf(epochs: readonly EpochRecord[]): { curves: Curves; bestEma: number | null; bestEpoch: number | null } {
  const curves: Curves = { epoch: [], train_loss: [], val_loss: [], pseudo_dice: [], mean_fg_dice: [], ema_fg_dice: [], lr: [], epoch_time: [] };
  const logger = new MetricLogger();
  for (const e of epochs) {
    const mean = nanMean(e.pseudoDice ?? []);
    logger.log('mean_fg_dice', mean, e.epoch);
    logger.checkBest(e.epoch);
    curves.epoch.push(e.epoch);
    curves.train_loss.push(finite(e.trainLoss));
    curves.val_loss.push(finite(e.valLoss));
    curves.pseudo_dice.push((e.pseudoDice ?? []).map(finite));
    curves.mean_fg_dice.push(finite(mean));
    curves.ema_fg_dice.push(finite(logger.get('ema_fg_dice')[e.epoch]));
    curves.lr.push(finite(e.lr));
    curves.epoch_time.push(finite(e.epochTime));
  }
  return { curves, bestEma: logger.bestEma, bestEpoch: logger.bestEpoch };
}

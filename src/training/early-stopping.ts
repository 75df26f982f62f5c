/**
 * Early stopping on a validation metric (Keras/Lightning semantics: improvement means beating the best by more
 * than minDelta; `patience` updates without improvement trigger). nnU-Net itself has none and always runs the
 * full schedule; this is an opt-in extension. With `annealEpochs = K` a trigger does not stop at once: the LR
 * falls linearly from its current value towards 0 over K more epochs, then training stops.
 */
import { z } from 'zod';
import { UserError } from '../errors.js';

export type EarlyStoppingMetric = 'ema_fg_dice' | 'mean_fg_dice' | 'val_loss';
export type EarlyStoppingMode = 'max' | 'min';
export type EarlyStoppingAction = 'continue' | 'anneal' | 'stop';

export type EarlyStoppingOptions = {
  patience: number;
  metric: EarlyStoppingMetric;
  minDelta?: number;
  annealEpochs?: number;
};

export type EarlyStoppingState = {
  metric: EarlyStoppingMetric;
  counter: number;
  bestValue: number | null;
  bestEpoch: number | null;
  lastEpoch: number | null;
  triggerEpoch: number | null;
  annealing: boolean;
  annealStartEpoch: number | null;
  annealStartLr: number | null;
  stopped: boolean;
};

const optionsSchema = z.object({
  patience: z.number().int().positive(),
  metric: z.enum(['ema_fg_dice', 'mean_fg_dice', 'val_loss']),
  minDelta: z.number().nonnegative().default(0),
  annealEpochs: z.number().int().nonnegative().default(0),
});

const stateSchema = z.object({
  metric: z.enum(['ema_fg_dice', 'mean_fg_dice', 'val_loss']),
  counter: z.number().int().nonnegative(),
  bestValue: z.number().nullable(),
  bestEpoch: z.number().int().nullable(),
  lastEpoch: z.number().int().nullable(),
  triggerEpoch: z.number().int().nullable(),
  annealing: z.boolean(),
  annealStartEpoch: z.number().int().nullable(),
  annealStartLr: z.number().nullable(),
  stopped: z.boolean(),
});

/** Dice is maximized, loss minimized. */
export function modeFor(metric: EarlyStoppingMetric): EarlyStoppingMode {
  return metric === 'val_loss' ? 'min' : 'max';
}

const fmt = (v: number | null) => (v === null ? 'none' : v.toFixed(4));

export class EarlyStopping {
  readonly patience: number;
  readonly metric: EarlyStoppingMetric;
  readonly mode: EarlyStoppingMode;
  readonly minDelta: number;
  readonly annealEpochs: number;
  private s: EarlyStoppingState;

  constructor(options: EarlyStoppingOptions) {
    const parsed = optionsSchema.safeParse(options);
    if (!parsed.success) throw new UserError(`early stopping options: ${z.prettifyError(parsed.error)}`);
    const o = parsed.data;
    this.patience = o.patience;
    this.metric = o.metric;
    this.mode = modeFor(o.metric);
    this.minDelta = o.minDelta;
    this.annealEpochs = o.annealEpochs;
    this.s = {
      metric: o.metric,
      counter: 0,
      bestValue: null,
      bestEpoch: null,
      lastEpoch: null,
      triggerEpoch: null,
      annealing: false,
      annealStartEpoch: null,
      annealStartLr: null,
      stopped: false,
    };
  }

  private improves(value: number): boolean {
    if (Number.isNaN(value)) return false;
    const best = this.s.bestValue;
    if (best === null) return true;
    return this.mode === 'max' ? value - this.minDelta > best : value + this.minDelta < best;
  }

  /**
   * Feed the metric of `epoch` (epochs strictly increasing; patience counts updates). `lr` is the LR used in
   * this epoch; it is required with annealing, as the anneal starts from it.
   */
  update(epoch: number, value: number, lr?: number): EarlyStoppingAction {
    if (this.s.stopped) throw new Error(`early stopping: update for epoch ${epoch} after training was stopped`);
    if (this.s.lastEpoch !== null && epoch <= this.s.lastEpoch) {
      throw new Error(`early stopping: epoch ${epoch} comes after epoch ${this.s.lastEpoch}`);
    }
    this.s.lastEpoch = epoch;
    if (this.improves(value)) {
      this.s.bestValue = value;
      this.s.bestEpoch = epoch;
      this.s.counter = 0;
    } else {
      this.s.counter++;
    }

    if (this.s.annealing) {
      const last = (this.s.annealStartEpoch as number) + this.annealEpochs - 1;
      if (epoch < last) return 'continue';
      this.s.stopped = true;
      return 'stop';
    }
    if (this.s.counter < this.patience) return 'continue';
    this.s.triggerEpoch = epoch;
    if (this.annealEpochs === 0) {
      this.s.stopped = true;
      return 'stop';
    }
    if (lr === undefined || !(lr >= 0)) throw new Error(`early stopping: annealing needs the current LR, got ${lr}`);
    this.s.annealing = true;
    this.s.annealStartEpoch = epoch + 1;
    this.s.annealStartLr = lr;
    return 'anneal';
  }

  /**
   * LR for `epoch` while annealing: startLr * (1 - j/K) for the j-th anneal epoch (j = 0..K-1), i.e. a line from
   * the LR at the trigger to 0 at the epoch after the last one, like poly reaching 0 at num_epochs. Null otherwise.
   */
  lrOverride(epoch: number): number | null {
    const start = this.s.annealStartEpoch;
    if (!this.s.annealing || start === null || this.s.annealStartLr === null) return null;
    const j = epoch - start;
    if (j < 0 || j >= this.annealEpochs) return null;
    return this.s.annealStartLr * (1 - j / this.annealEpochs);
  }

  get counter(): number {
    return this.s.counter;
  }
  get bestValue(): number | null {
    return this.s.bestValue;
  }
  get bestEpoch(): number | null {
    return this.s.bestEpoch;
  }
  get annealing(): boolean {
    return this.s.annealing;
  }
  get annealStartEpoch(): number | null {
    return this.s.annealStartEpoch;
  }
  get annealStartLr(): number | null {
    return this.s.annealStartLr;
  }
  get triggerEpoch(): number | null {
    return this.s.triggerEpoch;
  }
  get stopped(): boolean {
    return this.s.stopped;
  }

  /** Log line for the trigger: "Early stopping at epoch E: best ema_fg_dice 0.8123 reached at epoch B (...)". */
  triggerMessage(): string {
    const e = this.s.triggerEpoch;
    if (e === null) throw new Error('early stopping: not triggered');
    const head =
      `Early stopping at epoch ${e}: best ${this.metric} ${fmt(this.s.bestValue)} reached at epoch ${this.s.bestEpoch ?? 'none'} ` +
      `(no improvement by more than ${this.minDelta} for ${this.patience} epochs)`;
    if (!this.s.annealing) return head;
    return `${head}; annealing the learning rate from ${this.s.annealStartLr} to 0 over epochs ${this.s.annealStartEpoch}-${(this.s.annealStartEpoch as number) + this.annealEpochs - 1}`;
  }

  /** Log line once the anneal phase is over. */
  stopMessage(): string {
    if (!this.s.stopped) throw new Error('early stopping: not stopped');
    return `Training stopped early at epoch ${this.s.lastEpoch}: best ${this.metric} ${fmt(this.s.bestValue)} reached at epoch ${this.s.bestEpoch ?? 'none'}`;
  }

  stateDict(): EarlyStoppingState {
    return { ...this.s };
  }

  /** Restore from a checkpoint; a state saved for another metric cannot be continued. */
  loadStateDict(state: unknown): void {
    const parsed = stateSchema.safeParse(state);
    if (!parsed.success) throw new Error(`early stopping: invalid state: ${z.prettifyError(parsed.error)}`);
    if (parsed.data.metric !== this.metric) {
      throw new UserError(`early stopping: the checkpoint tracked ${parsed.data.metric}, this run tracks ${this.metric}`);
    }
    this.s = { ...parsed.data };
  }
}

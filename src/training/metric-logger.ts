/**
 * nnU-Net's LocalLogger (training/logging/nnunet_logger.py): one list per quantity with EXACTLY ONE VALUE
 * PER EPOCH, the Dice EMA derived from mean_fg_dice, and the best-EMA tracking that decides checkpoint_best.
 */
import { z } from 'zod';

export type MetricLoggerState = {
  mean_fg_dice: number[];
  ema_fg_dice: number[];
  dice_per_class_or_region: number[][];
  train_losses: number[];
  val_losses: number[];
  lrs: number[];
  epoch_start_timestamps: number[];
  epoch_end_timestamps: number[];
};

export type LogKey = keyof MetricLoggerState;
export type LogValue<K extends LogKey> = MetricLoggerState[K][number];

export const LOG_KEYS: readonly LogKey[] = [
  'mean_fg_dice',
  'ema_fg_dice',
  'dice_per_class_or_region',
  'train_losses',
  'val_losses',
  'lrs',
  'epoch_start_timestamps',
  'epoch_end_timestamps',
];

/** EMA weight of the previous value (nnunet_logger.py: 0.9 * previous + 0.1 * new). */
export const EMA_MOMENTUM = 0.9;

const stateSchema = z.object({
  mean_fg_dice: z.array(z.number()),
  ema_fg_dice: z.array(z.number()),
  dice_per_class_or_region: z.array(z.array(z.number())),
  train_losses: z.array(z.number()),
  val_losses: z.array(z.number()),
  lrs: z.array(z.number()),
  epoch_start_timestamps: z.array(z.number()),
  epoch_end_timestamps: z.array(z.number()),
});

function emptyState(): MetricLoggerState {
  return {
    mean_fg_dice: [],
    ema_fg_dice: [],
    dice_per_class_or_region: [],
    train_losses: [],
    val_losses: [],
    lrs: [],
    epoch_start_timestamps: [],
    epoch_end_timestamps: [],
  };
}

export class MetricLogger {
  private state: MetricLoggerState = emptyState();
  private best: { ema: number; epoch: number } | null = null;

  /**
   * Record `value` for `epoch`: appended when the list holds epochs 0..epoch-1, overwritten when it already
   * holds `epoch`, an Error otherwise. Logging mean_fg_dice also logs ema_fg_dice for the same epoch.
   */
  log<K extends LogKey>(key: K, value: LogValue<K>, epoch: number): void {
    if (!Number.isInteger(epoch) || epoch < 0) throw new Error(`logger: epoch must be a non-negative integer, got ${epoch}`);
    const list = this.state[key] as LogValue<K>[];
    if (list.length === epoch) list.push(value);
    else if (list.length === epoch + 1) list[epoch] = value;
    else {
      throw new Error(
        `logger: cannot log ${key} for epoch ${epoch}: it holds ${list.length} value(s), exactly one per epoch is allowed`,
      );
    }
    if (key === 'mean_fg_dice') {
      const dice = value as number;
      // the EMA starts at the first raw value; a NaN Dice makes the EMA NaN from then on, as in nnU-Net
      const ema = epoch === 0 ? dice : EMA_MOMENTUM * this.state.ema_fg_dice[epoch - 1] + (1 - EMA_MOMENTUM) * dice;
      this.log('ema_fg_dice', ema, epoch);
    }
  }

  /**
   * nnU-Net's end-of-epoch best check: the EMA of `epoch` becomes the best when there is none yet or it is
   * strictly greater (NaN never is). Returns true for a new best, i.e. when checkpoint_best should be written.
   * Checking the same epoch twice is harmless.
   */
  checkBest(epoch: number): boolean {
    const ema = this.state.ema_fg_dice[epoch];
    if (ema === undefined) throw new Error(`logger: no ema_fg_dice logged for epoch ${epoch}`);
    if (Number.isNaN(ema)) return false;
    if (this.best !== null && !(ema > this.best.ema)) return false;
    this.best = { ema, epoch };
    return true;
  }

  /** nnU-Net's `_best_ema` checkpoint field (null before the first valid EMA). */
  get bestEma(): number | null {
    return this.best?.ema ?? null;
  }

  get bestEpoch(): number | null {
    return this.best?.epoch ?? null;
  }

  get<K extends LogKey>(key: K): readonly LogValue<K>[] {
    return this.state[key] as LogValue<K>[];
  }

  /** Last epoch for which every list holds a value (-1 when none), as nnU-Net's progress plot infers it. */
  get completeEpoch(): number {
    return Math.min(...LOG_KEYS.map((k) => this.state[k].length)) - 1;
  }

  /** nnU-Net's `logging` checkpoint field: a deep copy of the per-epoch lists. */
  stateDict(): MetricLoggerState {
    return structuredClone(this.state);
  }

  /**
   * Restore the `logging` field of a checkpoint. The best EMA and its epoch are recomputed by replaying the
   * per-epoch best check over the EMA list, which is what the saving run did.
   */
  loadStateDict(state: unknown): void {
    const parsed = stateSchema.safeParse(state);
    if (!parsed.success) throw new Error(`logger: invalid logging state: ${z.prettifyError(parsed.error)}`);
    this.state = structuredClone(parsed.data);
    this.best = null;
    for (let e = 0; e < this.state.ema_fg_dice.length; e++) this.checkBest(e);
  }
}

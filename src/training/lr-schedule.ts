/**
 * Learning rate per epoch, computed from the epoch alone (nnU-Net's PolyLRScheduler is stateless, so a resumed
 * run needs no scheduler state): poly decay, an optional linear warmup as in nnUNetTrainer_warmup
 * (lr_scheduler/warmup.py), and the early-stopping anneal taking precedence when active.
 */
import { z } from 'zod';
import { UserError } from '../errors.js';

export type LrScheduleOptions = {
  initialLr: number;
  numEpochs: number;
  /** Linear warmup epochs before the poly decay (0 = plain nnU-Net). */
  warmupEpochs?: number;
  exponent?: number;
};

/** Anything that may replace the scheduled LR for an epoch, e.g. EarlyStopping's anneal. */
export type LrOverride = { lrOverride(epoch: number): number | null };

const optionsSchema = z
  .object({
    initialLr: z.number().positive(),
    numEpochs: z.number().int().positive(),
    warmupEpochs: z.number().int().nonnegative().default(0),
    exponent: z.number().positive().default(0.9),
  })
  .refine((o) => o.warmupEpochs < o.numEpochs, { message: 'warmupEpochs must be smaller than numEpochs' });

/** nnU-Net poly: initial * (1 - epoch / numEpochs)^exponent. */
export function polyLr(initialLr: number, epoch: number, numEpochs: number, exponent = 0.9): number {
  return initialLr * (1 - epoch / numEpochs) ** exponent;
}

export class LrSchedule {
  readonly initialLr: number;
  readonly numEpochs: number;
  readonly warmupEpochs: number;
  readonly exponent: number;

  constructor(options: LrScheduleOptions) {
    const parsed = optionsSchema.safeParse(options);
    if (!parsed.success) throw new UserError(`LR schedule options: ${z.prettifyError(parsed.error)}`);
    this.initialLr = parsed.data.initialLr;
    this.numEpochs = parsed.data.numEpochs;
    this.warmupEpochs = parsed.data.warmupEpochs;
    this.exponent = parsed.data.exponent;
  }

  /**
   * Scheduled LR: warmup epochs e < W get initial * (e + 1) / W; after that poly restarts at the full LR over
   * the remaining numEpochs - W epochs.
   */
  scheduled(epoch: number): number {
    if (!Number.isInteger(epoch) || epoch < 0 || epoch >= this.numEpochs) {
      throw new RangeError(`LR schedule: epoch ${epoch} outside [0, ${this.numEpochs})`);
    }
    const w = this.warmupEpochs;
    if (epoch < w) return (this.initialLr * (epoch + 1)) / w;
    return polyLr(this.initialLr, epoch - w, this.numEpochs - w, this.exponent);
  }

  /** The LR to set at the start of `epoch`: an active override (anneal) wins over the schedule. */
  lrAt(epoch: number, override?: LrOverride): number {
    return override?.lrOverride(epoch) ?? this.scheduled(epoch);
  }
}

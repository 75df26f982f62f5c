// nnU-Net's checkpoint_best: written whenever the EMA pseudo Dice beats the best so far (strictly; NaN never does).
// The best value is replayed from the logged EMA on resume, so this callback keeps no state in checkpoints.
import type { EpochMetrics, TrainingCallback, TrainingContext } from './callback.js';

export class BestCheckpointCallback implements TrainingCallback {
  private newBest = false;

  // decided before the epoch's checkpoint_latest is written, so that file already carries the new best (nnU-Net's
  // latest lags one epoch there) and checkpoint_best can be that same file
  onValidationEnd(ctx: TrainingContext, metrics: EpochMetrics): void {
    this.newBest = ctx.logger.checkBest(metrics.epoch);
  }

  async onEpochEnd(ctx: TrainingContext): Promise<void> {
    if (!this.newBest) return;
    this.newBest = false;
    ctx.print(`Yayy! New best EMA pseudo Dice: ${(ctx.logger.bestEma ?? 0).toFixed(4)}`);
    await ctx.saveCheckpoint('best');
  }
}

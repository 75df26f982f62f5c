// nnU-Net's checkpoint_best: written whenever the EMA pseudo Dice beats the best so far (strictly; NaN never does).
// The best value is replayed from the logged EMA on resume, so this callback keeps no state of its own.
import type { EpochMetrics, TrainingCallback, TrainingContext } from './callback.js';

export class BestCheckpointCallback implements TrainingCallback {
  async onEpochEnd(ctx: TrainingContext, metrics: EpochMetrics): Promise<void> {
    if (!ctx.logger.checkBest(metrics.epoch)) return;
    ctx.print(`Yayy! New best EMA pseudo Dice: ${(ctx.logger.bestEma ?? 0).toFixed(4)}`);
    await ctx.saveCheckpoint('best');
  }
}

// progress.png, redrawn after every epoch as nnU-Net does (rank 0 only).
import path from 'node:path';
import { writeProgressPlot } from '../progress-plot.js';
import type { TrainingCallback, TrainingContext } from './callback.js';

export class ProgressPlotCallback implements TrainingCallback {
  async onEpochEnd(ctx: TrainingContext): Promise<void> {
    if (ctx.isMain) await writeProgressPlot(ctx.logger.stateDict(), path.join(ctx.outputFolder, 'progress.png'));
  }
}

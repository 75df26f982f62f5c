// training_log_<timestamp>.txt: every `log` event becomes a timestamped line in the file (rank 0) and on the echo.
import { TrainingLog } from '../training-log.js';
import type { TrainingCallback, TrainingContext } from './callback.js';

export class TrainingLogCallback implements TrainingCallback {
  private unsubscribe: (() => void) | null = null;
  constructor(private readonly echo?: (line: string) => void) {}

  onTrainStart(ctx: TrainingContext): void {
    const log = ctx.isMain ? new TrainingLog(ctx.outputFolder, this.echo) : null;
    this.unsubscribe = ctx.events.on('log', ({ line }) => log?.print(line));
  }

  onTrainEnd(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }
}

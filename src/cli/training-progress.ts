// The training progress bar of the CLI: a callback that follows the trainer's iteration events (terminal only, so
// logs stay greppable; the training log already prints one line per epoch step).
import cliProgress from 'cli-progress';
import type { TrainingCallback, TrainingContext } from '../training/callbacks/callback.js';

export function trainingProgressBar(): TrainingCallback {
  const bar = new cliProgress.SingleBar({ format: 'epoch {epoch} |{bar}| {value}/{total} it | loss {loss} | ETA {eta_formatted}', hideCursor: true, clearOnComplete: true, stream: process.stderr }, cliProgress.Presets.shades_classic);
  const unsubscribe: (() => void)[] = [];
  return {
    onTrainStart(ctx: TrainingContext) {
      unsubscribe.push(
        ctx.events.on('epochStart', (e) => bar.start(e.iterations, e.startIteration, { epoch: e.epoch, loss: '-' })),
        ctx.events.on('iteration', (e) => bar.update(e.iteration, { epoch: e.epoch, loss: e.loss.toFixed(4) })),
        ctx.events.on('trainEpochEnd', () => bar.stop()),
      );
    },
    onTrainEnd() {
      bar.stop();
      for (const u of unsubscribe.splice(0)) u();
    },
  };
}

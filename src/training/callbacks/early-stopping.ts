// Early stopping as a callback: it watches one metric after each validation, may take over the LR (anneal), and
// keeps its state under `early_stopping` in every checkpoint.
import { EarlyStopping, type EarlyStoppingOptions } from '../early-stopping.js';
import type { EpochMetrics, TrainingCallback, TrainingContext, ValidationDecision } from './callback.js';

function monitored(metrics: EpochMetrics, metric: EarlyStoppingOptions['metric']): number {
  if (metric === 'val_loss') return metrics.valLoss;
  return metric === 'mean_fg_dice' ? metrics.meanFgDice : metrics.emaFgDice;
}

export class EarlyStoppingCallback implements TrainingCallback {
  readonly stateKey = 'early_stopping';
  readonly unit: EarlyStopping;

  constructor(options: EarlyStoppingOptions) {
    this.unit = new EarlyStopping(options);
  }

  /** The settings in the log from the start, so readers (nnunet serve) know the patience before it runs out. */
  onTrainStart(ctx: TrainingContext): void {
    ctx.print(`Early stopping on ${this.unit.metric}: patience ${this.unit.patience}, min delta ${this.unit.minDelta}, anneal ${this.unit.annealEpochs} epochs`);
  }

  lrOverride(epoch: number): number | null {
    return this.unit.lrOverride(epoch);
  }

  onValidationEnd(ctx: TrainingContext, metrics: EpochMetrics): ValidationDecision {
    const wasAnnealing = this.unit.annealing;
    const action = this.unit.update(metrics.epoch, monitored(metrics, this.unit.metric), metrics.lr);
    if (action === 'anneal') ctx.print(this.unit.triggerMessage());
    if (action !== 'stop') return 'continue';
    if (!wasAnnealing) ctx.print(this.unit.triggerMessage());
    ctx.print(this.unit.stopMessage());
    return 'stop';
  }

  hasStopped(): boolean {
    return this.unit.stopped;
  }

  stateDict(): unknown {
    return this.unit.stateDict();
  }

  loadStateDict(state: unknown): void {
    this.unit.loadStateDict(state);
  }
}

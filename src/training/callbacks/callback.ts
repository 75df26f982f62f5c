// Training callbacks, as Lightning's: hooks the loop calls at fixed points, and a `stateKey` with
// stateDict/loadStateDict so a checkpoint stores every callback's state and resume restores it by key.
import type { MetricLogger } from '../metric-logger.js';
import type { TrainerEvents } from '../events.js';

export type CheckpointKind = 'latest' | 'best' | 'final';

/** What callbacks see of the run. */
export interface TrainingContext {
  readonly outputFolder: string;
  readonly numEpochs: number;
  readonly iterationsPerEpoch: number;
  readonly events: TrainerEvents;
  /** The per-epoch metric lists (nnU-Net's logger), with the best-EMA tracking. */
  readonly logger: MetricLogger;
  /** True on the process that writes files (rank 0). */
  readonly isMain: boolean;
  /** A line for the training log and the console. */
  print(message: string): void;
  /** Writes checkpoint_<kind>.pth with the state as of the end of the current epoch. */
  saveCheckpoint(kind: CheckpointKind): Promise<void>;
}

export interface EpochMetrics {
  epoch: number;
  lr: number;
  trainLoss: number;
  valLoss: number;
  pseudoDice: number[];
  meanFgDice: number;
  emaFgDice: number;
}

export type ValidationDecision = 'continue' | 'stop';

export interface TrainingCallback {
  /** Key of this callback's state in the checkpoint; callbacks without state leave it out. */
  readonly stateKey?: string;
  onTrainStart?(ctx: TrainingContext): void | Promise<void>;
  /** A replacement for the scheduled LR of `epoch` (e.g. early stopping's anneal), or null. */
  lrOverride?(epoch: number): number | null;
  /** After validation; any callback returning 'stop' ends training after this epoch. */
  onValidationEnd?(ctx: TrainingContext, metrics: EpochMetrics): ValidationDecision | void | Promise<ValidationDecision | void>;
  /** After checkpoint_latest of the epoch is written. */
  onEpochEnd?(ctx: TrainingContext, metrics: EpochMetrics): void | Promise<void>;
  onTrainEnd?(ctx: TrainingContext): void | Promise<void>;
  /** True when this callback's restored state says training is over (resume of an early-stopped run). */
  hasStopped?(): boolean;
  stateDict?(): unknown;
  loadStateDict?(state: unknown): void;
}

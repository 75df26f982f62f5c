// The JSON the server answers with, shared by the server (src/serve) and the pages (web/), which cannot import
// anything that needs Node.

export type RunState = 'running' | 'finished' | 'stopped_early' | 'interrupted';

/** One entry of GET /api/runs. */
export interface RunSummary {
  id: string;
  dataset: string;
  configuration: string;
  trainer: string;
  plans: string;
  fold: number | 'all';
  /** Epochs completed so far. */
  epochs: number;
  /** Null before the first validation. */
  best_ema: number | null;
  state: RunState;
}

/** Per completed epoch; NaN (a class absent from validation) is null. */
export interface Curves {
  epoch: number[];
  train_loss: (number | null)[];
  val_loss: (number | null)[];
  pseudo_dice: (number | null)[][];
  mean_fg_dice: (number | null)[];
  ema_fg_dice: (number | null)[];
  lr: (number | null)[];
  epoch_time: (number | null)[];
}

export interface CheckpointInfo {
  name: string;
  bytes: number;
  modified: string;
  /** The next epoch a resume would run (nnU-Net's current_epoch); null if the file could not be read. */
  epoch: number | null;
  best_ema: number | null;
}

export interface EarlyStoppingInfo {
  metric: string;
  best: number | null;
  best_epoch: number | null;
  counter: number;
  /** Known once the trainer logged it; null before. */
  patience: number | null;
  stopped: boolean;
}

/** GET /api/runs/:id: the summary plus what the run's charts and tables need. */
export interface RunDetail extends RunSummary {
  best_epoch: number | null;
  curves: Curves;
  checkpoints: CheckpointInfo[];
  /** Null when the run has no early stopping (or no checkpoint yet). */
  early_stopping: EarlyStoppingInfo | null;
  /** Files of the fold folder that GET /api/runs/:id/files/<name> serves. */
  files: string[];
}

/** One entry of GET /api/models. */
export interface ModelSummary {
  id: string;
  dataset: string;
  configuration: string;
  folds: (number | 'all')[];
  trainer: string;
  plans: string;
  /** model.json and model.onnx of each fold, relative to GET /api/models/:id/files/. */
  files: { fold: number | 'all'; json: string; onnx: string }[];
}

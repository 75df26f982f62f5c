// How a training run spreads over processes. The loop asks the strategy for its share of each global batch, hands
// it the gradients after backward, sums validation counts through it and lets only the main rank write files.
// This is the single-process strategy (rank 0 of 1); data-parallel training replaces it.
import type { Tensor } from '../../torch/index.js';

export interface Strategy {
  readonly rank: number;
  readonly worldSize: number;
  /** The rank that writes checkpoints, logs and plots. */
  readonly isMain: boolean;
  /** This rank's share of a global batch of `globalBatchSize`. */
  localBatchSize(globalBatchSize: number): number;
  /** Called after backward, before clipping: average the gradients over ranks. */
  reduceGradients(params: readonly Tensor[]): void;
  /** Element-wise sum over ranks (pseudo-Dice tp/fp/fn). */
  allReduceSum(values: readonly number[]): number[];
  /** Element-wise mean over ranks (losses). */
  allReduceMean(values: readonly number[]): number[];
  /** Rank 0's value on every rank, so all ranks take the same decision (stop, best checkpoint). */
  broadcast<T>(value: T): T;
  close(): Promise<void>;
}

export class SingleProcessStrategy implements Strategy {
  readonly rank = 0;
  readonly worldSize = 1;
  readonly isMain = true;
  localBatchSize(globalBatchSize: number): number {
    return globalBatchSize;
  }
  reduceGradients(): void {}
  allReduceSum(values: readonly number[]): number[] {
    return [...values];
  }
  allReduceMean(values: readonly number[]): number[] {
    return [...values];
  }
  broadcast<T>(value: T): T {
    return value;
  }
  async close(): Promise<void> {}
}

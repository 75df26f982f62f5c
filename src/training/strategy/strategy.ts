// How a training run spreads over processes. The loop asks the strategy for its share of each global batch, hands
// it the gradients after backward, sums validation counts through it and lets only the main rank write files.
// SingleProcessStrategy is rank 0 of 1; DistributedStrategy (distributed.ts) runs data-parallel over c10d.
import { UserError } from '../../errors.js';
import type { Tensor } from '../../torch/index.js';

/** One rank's samples of a global batch: global sample indices [offset, offset + size). */
export interface BatchShare {
  offset: number;
  size: number;
  /** The plans' batch size the shares add up to (foreground oversampling follows the global sample index). */
  globalBatchSize: number;
}

/**
 * nnU-Net's split of the plans' (global) batch: floor(bs / world) each, the lowest ranks one more until the remainder
 * is used up. A batch smaller than the world would leave ranks without samples, so it is refused.
 */
export function batchShareOf(globalBatchSize: number, rank: number, worldSize: number): BatchShare {
  if (globalBatchSize < worldSize) {
    throw new UserError(`the plans' batch size ${globalBatchSize} is smaller than the ${worldSize} ranks: every rank needs at least one sample; train with at most ${globalBatchSize} ranks (or a plans file with a larger batch_size)`);
  }
  const base = Math.floor(globalBatchSize / worldSize);
  const extra = globalBatchSize % worldSize;
  return { offset: rank * base + Math.min(rank, extra), size: base + (rank < extra ? 1 : 0), globalBatchSize };
}

export interface Strategy {
  readonly rank: number;
  readonly worldSize: number;
  /** The rank that writes checkpoints, logs and plots. */
  readonly isMain: boolean;
  /** This rank's share of a global batch of `globalBatchSize`. */
  batchShare(globalBatchSize: number): BatchShare;
  /** Called once before training: every rank takes rank 0's weights. */
  broadcastParameters(params: readonly Tensor[]): void;
  /** Called after backward, before clipping: average the gradients over ranks. */
  reduceGradients(params: readonly Tensor[]): void;
  /** Element-wise sum over ranks (pseudo-Dice tp/fp/fn). */
  allReduceSum(values: readonly number[]): number[];
  /** Element-wise mean over ranks (losses). */
  allReduceMean(values: readonly number[]): number[];
  /** Rank 0's value on every rank, so all ranks take the same decision (stop, best checkpoint). */
  broadcast<T>(value: T): T;
  /** Waits until every rank got here (e.g. all shards of the final validation are written). */
  barrier(): void;
  /**
   * The sum of `t` over ranks, whose gradient flows back to this rank's `t` scaled by the world size (upstream's
   * AllGatherGrad): after the gradient average, a loss of the global sum gets the single-process gradient.
   */
  sumWithGradient(t: Tensor): Tensor;
  close(): Promise<void>;
}

export class SingleProcessStrategy implements Strategy {
  readonly rank = 0;
  readonly worldSize = 1;
  readonly isMain = true;
  batchShare(globalBatchSize: number): BatchShare {
    return batchShareOf(globalBatchSize, 0, 1);
  }
  broadcastParameters(): void {}
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
  sumWithGradient(t: Tensor): Tensor {
    return t;
  }
  barrier(): void {}
  async close(): Promise<void> {}
}

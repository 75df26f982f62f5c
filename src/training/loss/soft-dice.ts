// The soft Dice core both of nnU-Net's compound losses share (MemoryEfficientSoftDiceLoss after its nonlinearity).
import type { Tensor } from '../../torch/index.js';

export interface SoftDiceOptions {
  batchDice: boolean;
  /** Default 1e-5, as nnUNetTrainer._build_loss. */
  smooth?: number;
  /**
   * Data-parallel batch Dice: the batch sums of I, P and G summed over ranks (Strategy.sumWithGradient), so the Dice is
   * the global batch's, as upstream's AllGatherGrad in MemoryEfficientSoftDiceLoss.
   */
  sumOverRanks?: (t: Tensor) => Tensor;
}

/**
 * MemoryEfficientSoftDiceLoss on activated scores and their one-hot target, both [B, C, ...] (a loss mask [B, 1, ...]
 * multiplies both): -mean over classes (and over samples without batch Dice) of (2·I + smooth) / (G + P + smooth).
 */
export function softDiceOf(probs: Tensor, onehot: Tensor, options: SoftDiceOptions, mask?: Tensor): Tensor {
  const smooth = options.smooth ?? 1e-5;
  const axes = Array.from({ length: probs.ndim - 2 }, (_, i) => i + 2);
  if (mask) {
    probs = probs.mul(mask);
    onehot = onehot.mul(mask);
  }
  let intersect = probs.mul(onehot).sum(axes);
  let sumPred = probs.sum(axes);
  let sumGt = onehot.sum(axes);
  if (options.batchDice) {
    intersect = intersect.sum(0);
    sumPred = sumPred.sum(0);
    sumGt = sumGt.sum(0);
    if (options.sumOverRanks) {
      intersect = options.sumOverRanks(intersect);
      sumPred = options.sumOverRanks(sumPred);
      sumGt = options.sumOverRanks(sumGt);
    }
  }
  const dice = intersect.mul(2).add(smooth).div(sumGt.add(sumPred).add(smooth).clamp(1e-8));
  return dice.mean().neg();
}

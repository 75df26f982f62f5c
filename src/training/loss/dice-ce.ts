// nnU-Net's DC_and_CE_loss: cross-entropy + memory-efficient soft Dice (softmax inside, background excluded,
// smooth 1e-5, batch Dice per plans), weights 1:1, with the optional ignore label masked out of both terms.
import { F, type Tensor, noGrad } from '../../torch/index.js';

export interface DiceCeOptions {
  batchDice: boolean;
  smooth?: number;
  /** Voxels with this target value count in neither term (LabelManager.ignoreLabel ?? undefined). */
  ignoreLabel?: number;
}

/** Soft Dice over foreground classes, negated (lower is better), as MemoryEfficientSoftDiceLoss(do_bg=False). */
export function softDiceLoss(logits: Tensor, target: Tensor, numClasses: number, options: DiceCeOptions, mask?: Tensor): Tensor {
  const smooth = options.smooth ?? 1e-5;
  const axes = Array.from({ length: logits.ndim - 2 }, (_, i) => i + 2);
  let probs = F.softmax(logits, 1).slice(1, 1);
  let onehot = noGrad(() => target.oneHot(numClasses).movedim(-1, 1).slice(1, 1).to(probs.dtype));
  if (mask) {
    const m = mask.unsqueeze(1).to(probs.dtype);
    probs = probs.mul(m);
    onehot = onehot.mul(m);
  }
  let intersect = probs.mul(onehot).sum(axes);
  let sumPred = probs.sum(axes);
  let sumGt = onehot.sum(axes);
  if (options.batchDice) {
    intersect = intersect.sum(0);
    sumPred = sumPred.sum(0);
    sumGt = sumGt.sum(0);
  }
  const dice = intersect.mul(2).add(smooth).div(sumGt.add(sumPred).add(smooth).clamp(1e-8));
  return dice.mean().neg();
}

/**
 * logits [B, C, ...], target int64 [B, ...]. With an ignore label, as DC_and_CE_loss(ignore_label): the Dice sees
 * ignored voxels as masked-out background, and CE (ignore_index) averages over the annotated voxels of the whole batch.
 */
export function diceCeLoss(logits: Tensor, target: Tensor, numClasses: number, options: DiceCeOptions): Tensor {
  const ignore = options.ignoreLabel;
  if (ignore === undefined) {
    return F.crossEntropy(logits, target).add(softDiceLoss(logits, target, numClasses, options));
  }
  const mask = target.ne(ignore);
  const diceTarget = target.mul(mask.to(target.dtype));
  // sum / count is CE's ignore_index mean; a patch with no annotated voxel gives 0 where torch's mean gives 0/0 = NaN,
  // matching upstream, which drops the CE term when num_fg is 0 (and this needs no host sync to decide).
  const annotated = mask.sum().to(logits.dtype).clamp(1);
  const ce = F.crossEntropy(logits, target, { ignoreIndex: ignore, reduction: 'sum' }).div(annotated);
  return ce.add(softDiceLoss(logits, diceTarget, numClasses, options, mask));
}

/** Deep-supervision weights 1/2^i, lowest resolution 0, normalized to sum 1 (nnU-Net's rule). */
export function deepSupervisionWeights(n: number): number[] {
  const w = Array.from({ length: n }, (_, i) => 1 / 2 ** i);
  if (n > 1) w[n - 1] = 0;
  const total = w.reduce((a, b) => a + b, 0);
  return w.map((v) => v / total);
}

/** Σ wᵢ·loss(outputᵢ, targetᵢ), skipping zero weights. */
export function deepSupervisionLoss(outputs: Tensor[], targets: Tensor[], numClasses: number, options: DiceCeOptions): Tensor {
  const weights = deepSupervisionWeights(outputs.length);
  let total: Tensor | null = null;
  outputs.forEach((o, i) => {
    if (weights[i] === 0) return;
    const term = diceCeLoss(o, targets[i], numClasses, options).mul(weights[i]);
    total = total ? total.add(term) : term;
  });
  if (!total) throw new Error('deep supervision loss needs at least one output with a non-zero weight');
  return total;
}

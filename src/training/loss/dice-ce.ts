// nnU-Net's DC_and_CE_loss: cross-entropy + memory-efficient soft Dice (softmax inside, background excluded,
// smooth 1e-5, batch Dice per plans), weights 1:1, with the optional ignore label masked out of both terms; and the
// deep-supervision wrapper, which takes DC_and_BCE_loss instead with regions (nnUNetTrainer._build_loss).
import type { LabelOrRegion } from '../../planning/label-rules.js';
import { F, type Tensor, noGrad } from '../../torch/index.js';
import { diceBceLoss } from './dice-bce.js';
import { type SoftDiceOptions, softDiceOf } from './soft-dice.js';

export interface DiceCeOptions extends SoftDiceOptions {
  /** Voxels with this target value count in neither term (LabelManager.ignoreLabel ?? undefined). */
  ignoreLabel?: number;
  /** Region-based training (LabelManager.regions ?? undefined): sigmoid heads, Dice + BCE on region masks (dice-bce.ts). */
  regions?: readonly LabelOrRegion[];
}

/** Soft Dice over foreground classes, negated (lower is better), as MemoryEfficientSoftDiceLoss(do_bg=False). */
export function softDiceLoss(logits: Tensor, target: Tensor, numClasses: number, options: DiceCeOptions, mask?: Tensor): Tensor {
  const probs = F.softmax(logits, 1).slice(1, 1);
  const onehot = noGrad(() => target.oneHot(numClasses).movedim(-1, 1).slice(1, 1).to(probs.dtype));
  return softDiceOf(probs, onehot, options, mask?.unsqueeze(1).to(probs.dtype));
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

/** The loss of one output against its int label map: Dice + BCE with regions, Dice + CE otherwise. */
export function segmentationLoss(logits: Tensor, target: Tensor, numClasses: number, options: DiceCeOptions): Tensor {
  return options.regions ? diceBceLoss(logits, target, options.regions, options) : diceCeLoss(logits, target, numClasses, options);
}

/** Σ wᵢ·loss(outputᵢ, targetᵢ), skipping zero weights. */
export function deepSupervisionLoss(outputs: Tensor[], targets: Tensor[], numClasses: number, options: DiceCeOptions): Tensor {
  const weights = deepSupervisionWeights(outputs.length);
  let total: Tensor | null = null;
  outputs.forEach((o, i) => {
    if (weights[i] === 0) return;
    const term = segmentationLoss(o, targets[i], numClasses, options).mul(weights[i]);
    total = total ? total.add(term) : term;
  });
  if (!total) throw new Error('deep supervision loss needs at least one output with a non-zero weight');
  return total;
}

// nnU-Net's DC_and_BCE_loss for region-based training: BCE with logits + memory-efficient soft Dice (sigmoid inside,
// every region head counted: do_bg True, smooth 1e-5, batch Dice per plans), weights 1:1; with an ignore label
// (use_ignore_label) its voxels count in neither term.
import { type LabelOrRegion, regionMembers } from '../../planning/label-rules.js';
import { type Tensor, noGrad, stack } from '../../torch/index.js';
import type { DiceCeOptions } from './dice-ce.js';
import { softDiceOf } from './soft-dice.js';

/**
 * Region masks [B, R, ...] (bool) of an int label map [B, ...], as ConvertSegmentationToRegionsTransform. Training
 * converts the label map of each deep-supervision level; upstream converts first and then downsamples, which gives
 * the same masks because the levels are nearest-neighbour downsampled: each keeps some voxel's value, and region
 * membership is a function of that value.
 */
export function regionMasks(target: Tensor, regions: readonly LabelOrRegion[]): Tensor {
  return stack(regions.map((r) => regionMembers(r).map((v) => target.eq(v)).reduce((a, b) => a.logicalOr(b))), 1);
}

/** Stable BCE with logits per element: max(x, 0) − x·y + log(1 + e^−|x|), as torch's binary_cross_entropy_with_logits. */
function bceWithLogits(logits: Tensor, target: Tensor): Tensor {
  return logits.relu().sub(logits.mul(target)).add(logits.abs().neg().exp().add(1).log());
}

/**
 * logits [B, R, ...] (one head per region), target int64 label map [B, ...]. With an ignore label the mask
 * (target ≠ ignore) multiplies the Dice terms and the BCE is Σ(bce·mask) / Σmask, Σmask counting voxels, not voxels
 * × regions, as upstream.
 */
export function diceBceLoss(logits: Tensor, target: Tensor, regions: readonly LabelOrRegion[], options: DiceCeOptions): Tensor {
  const { masks, valid } = noGrad(() => {
    const m = regionMasks(target, regions).to(logits.dtype);
    const v = options.ignoreLabel === undefined ? undefined : target.ne(options.ignoreLabel).unsqueeze(1).to(logits.dtype);
    return { masks: m, valid: v };
  });
  const dice = softDiceOf(logits.sigmoid(), masks, options, valid);
  const bce = bceWithLogits(logits, masks);
  const ce = valid ? bce.mul(valid).sum().div(valid.sum().clamp(1e-8)) : bce.mean();
  return ce.add(dice);
}


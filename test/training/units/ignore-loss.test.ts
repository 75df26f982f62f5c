// The ignore-label Dice+CE loss with deep supervision against PyTorch, loss and gradients. The Python side is nnU-Net's
// DC_and_CE_loss(ignore_label=...) as upstream builds it: mask = target != ignore, Dice target with ignored voxels set
// to 0, MemoryEfficientSoftDiceLoss (do_bg False, smooth 1e-5) with that loss_mask, RobustCrossEntropyLoss with
// ignore_index, the CE term dropped when no voxel is annotated, inside the deep-supervision weighting.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Generator, full, randint, randn, tidy } from '../../../src/torch/index.js';
import { deepSupervisionLoss, diceCeLoss } from '../../../src/training/loss/dice-ce.js';
import { referenceUnavailable, runTorch } from '../../torch/torch-reference.js';
import { assertMatchesReference, halve, pyDeepSupervision } from './deep-supervision-reference.js';

const HEADS = 3;
const IGNORE = 3;

const PY_LOSS = `
import torch.nn as nn
ignore, batch_dice = inp['ignore'], inp['batch_dice']

class RobustCE(nn.CrossEntropyLoss):
    def forward(self, x, t):
        if t.ndim == x.ndim:
            t = t[:, 0]
        return super().forward(x, t.long())

def mem_eff_dice(x, y, loss_mask):
    x = torch.softmax(x, 1)[:, 1:]
    axes = tuple(range(2, x.ndim))
    with torch.no_grad():
        onehot = torch.zeros((x.shape[0], x.shape[1] + 1, *x.shape[2:]), dtype=torch.bool).scatter_(1, y.long(), 1)[:, 1:]
        sum_gt = (onehot * loss_mask).sum(axes)
    intersect = (x * onehot * loss_mask).sum(axes)
    sum_pred = (x * loss_mask).sum(axes)
    if batch_dice:
        intersect, sum_pred, sum_gt = intersect.sum(0), sum_pred.sum(0), sum_gt.sum(0)
    return -((2 * intersect + 1e-5) / torch.clip(sum_gt + sum_pred + 1e-5, 1e-8)).mean()

ce = RobustCE(ignore_index=ignore)
def dc_and_ce(x, t):
    t = t[:, None]
    mask = t != ignore
    t_dice = torch.where(mask, t, 0)
    num_fg = mask.sum()
    dc = mem_eff_dice(x, t_dice, mask)
    c = ce(x, t) if num_fg > 0 else 0
    return c + dc

${pyDeepSupervision('dc_and_ce', "inp['targets']")}`;

const why = referenceUnavailable();

describe('Dice+CE with an ignore label matches nnU-Net in PyTorch', { skip: why ?? false }, () => {
  for (const { patch, batchDice, allIgnoredLevel } of [
    { patch: [8, 8, 8], batchDice: false, allIgnoredLevel: -1 },
    { patch: [8, 8, 8], batchDice: true, allIgnoredLevel: -1 },
    // a level whose target is ignore everywhere: upstream drops its CE term (torch's mean would be 0/0)
    { patch: [16, 12], batchDice: true, allIgnoredLevel: 1 },
    { patch: [16, 12], batchDice: false, allIgnoredLevel: 1 },
  ]) {
    test(`${patch.length}D, batch dice ${batchDice}${allIgnoredLevel >= 0 ? ', one level all ignored' : ''}: loss and gradients`, () =>
      tidy(() => {
        const g = new Generator(11);
        const B = 2;
        // values 0..3 with 3 the ignore label, about a quarter of the voxels ignored
        const targets = [randint(0, HEADS + 1, [B, ...patch], g)];
        for (let i = 1; i < 4; i++) targets.push(halve(targets[i - 1]));
        if (allIgnoredLevel >= 0) targets[allIgnoredLevel] = full(targets[allIgnoredLevel].shape, IGNORE, 'int64');
        const logits = targets.map((t) => randn([B, HEADS, ...t.shape.slice(1)], g).mul(2));

        const ref = runTorch(PY_LOSS, { logits, targets, ignore: IGNORE, batch_dice: batchDice });

        const leaves = logits.map((l) => l.detach().clone().requiresGrad_());
        const loss = deepSupervisionLoss(leaves, targets, HEADS, { batchDice, ignoreLabel: IGNORE });
        loss.backward();
        const terms = logits.map((l, i) => diceCeLoss(l, targets[i], HEADS, { batchDice, ignoreLabel: IGNORE }).item());
        assertMatchesReference(ref, loss, leaves, terms);
        for (const t of terms) assert.ok(Number.isFinite(t), `finite per-level loss ${terms}`);
      }));
  }
});

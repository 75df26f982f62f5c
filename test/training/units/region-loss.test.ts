// The region-based Dice+BCE loss with deep supervision against PyTorch, loss and gradients. The Python side restates
// nnU-Net's pieces: ConvertSegmentationToRegionsTransform (the ignore label as the last channel when there is one),
// DownsampleSegForDSTransform (nearest, here every other voxel) applied to the region masks, DC_and_BCE_loss with
// MemoryEfficientSoftDiceLoss (sigmoid, do_bg True, smooth 1e-5) and BCEWithLogitsLoss (reduction 'none' and
// Σ(bce·mask)/Σmask with use_ignore_label), inside the deep-supervision weighting. Our side converts the already
// downsampled label maps, which must give the same result.
import { describe, test } from 'node:test';
import { Generator, randint, randn, tidy } from '../../../src/torch/index.js';
import { deepSupervisionLoss, segmentationLoss } from '../../../src/training/loss/dice-ce.js';
import { referenceUnavailable, runTorch } from '../../torch/torch-reference.js';
import { assertMatchesReference, halve, pyDeepSupervision } from './deep-supervision-reference.js';

const REGIONS = [[1, 2, 3], [2, 3], [3]];
const IGNORE = 4;

const PY_LOSS = `
import torch.nn as nn
regions, ignore, batch_dice = inp['regions'], inp['ignore'], inp['batch_dice']
use_ignore = ignore >= 0

def to_regions(seg):
    chans = [torch.isin(seg, torch.tensor(r)) for r in regions]
    if use_ignore:
        chans.append(seg == ignore)
    return torch.stack(chans, 1).float()

def down(t):
    for d in range(2, t.ndim):
        t = t.narrow(d, 0, t.shape[d]).index_select(d, torch.arange(0, t.shape[d], 2))
    return t

def mem_eff_dice(x, y, loss_mask):
    x = torch.sigmoid(x)
    axes = tuple(range(2, x.ndim))
    with torch.no_grad():
        sum_gt = y.sum(axes) if loss_mask is None else (y * loss_mask).sum(axes)
    intersect = (x * y).sum(axes) if loss_mask is None else (x * y * loss_mask).sum(axes)
    sum_pred = x.sum(axes) if loss_mask is None else (x * loss_mask).sum(axes)
    if batch_dice:
        intersect, sum_pred, sum_gt = intersect.sum(0), sum_pred.sum(0), sum_gt.sum(0)
    return -((2 * intersect + 1e-5) / torch.clip(sum_gt + sum_pred + 1e-5, 1e-8)).mean()

bce = nn.BCEWithLogitsLoss(reduction='none' if use_ignore else 'mean')
def dc_and_bce(x, target):
    if use_ignore:
        mask = 1 - target[:, -1:]
        target = target[:, :-1]
    else:
        mask = None
    dc = mem_eff_dice(x, target, mask)
    ce = bce(x, target)
    if mask is not None:
        ce = (ce * mask).sum() / torch.clip(mask.sum(), 1e-8)
    return ce + dc

# convert at full resolution, then downsample the masks (upstream's transform order)
targets = [to_regions(inp['seg'][:, 0])]
for _ in range(len(inp['logits']) - 1):
    targets.append(down(targets[-1]))
${pyDeepSupervision('dc_and_bce', 'targets')}`;

const why = referenceUnavailable();

describe('region Dice+BCE matches nnU-Net DC_and_BCE_loss in PyTorch', { skip: why ?? false }, () => {
  for (const { patch, batchDice, ignore } of [
    { patch: [8, 8, 8], batchDice: false, ignore: false },
    { patch: [8, 8, 8], batchDice: true, ignore: false },
    { patch: [8, 8, 8], batchDice: false, ignore: true },
    { patch: [16, 12], batchDice: true, ignore: true },
  ]) {
    test(`${patch.length}D, batch dice ${batchDice}, ${ignore ? 'with' : 'without'} ignore label: loss and gradients`, () =>
      tidy(() => {
        const g = new Generator(7);
        const B = 2;
        // label values 0..3 (and 4 = ignore on about a fifth of the voxels)
        const seg = randint(0, ignore ? IGNORE + 1 : IGNORE, [B, ...patch], g);
        const segs = [seg];
        for (let i = 1; i < 4; i++) segs.push(halve(segs[i - 1]));
        const logits = segs.map((t) => randn([B, REGIONS.length, ...t.shape.slice(1)], g).mul(2));

        const ref = runTorch(PY_LOSS, { logits, seg: seg.unsqueeze(1), regions: REGIONS, ignore: ignore ? IGNORE : -1, batch_dice: batchDice });

        const options = { batchDice, regions: REGIONS, ignoreLabel: ignore ? IGNORE : undefined };
        const leaves = logits.map((l) => l.detach().clone().requiresGrad_());
        const loss = deepSupervisionLoss(leaves, segs, REGIONS.length, options);
        loss.backward();
        assertMatchesReference(ref, loss, leaves, logits.map((l, i) => segmentationLoss(l, segs[i], REGIONS.length, options).item()));
      }));
  }
});

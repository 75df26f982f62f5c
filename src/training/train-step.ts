// One optimization step and one validation step on a batch, as nnU-Net's train_step / validation_step.
import type { SegmentationNetwork } from '../model/network-registry.js';
import { type Device, type Tensor, Tensor as T, maybeAutocast, noGrad, optim, tidy } from '../torch/index.js';
import type { GradScaler } from './amp/grad-scaler.js';
import type { Batch } from '../data/batch-source.js';
import { regionMasks } from './loss/dice-bce.js';
import { type DiceCeOptions, deepSupervisionLoss } from './loss/dice-ce.js';
import type { Strategy } from './strategy/strategy.js';

export const GRAD_CLIP_NORM = 12;

function batchTensors(batch: Batch, device: Device): { data: Tensor; targets: Tensor[] } {
  const data = T.fromBuffer(batch.data, batch.dataShape, 'float32');
  // targets arrive as [B, 1, ...]; the loss takes int64 class maps [B, ...]
  const targets = batch.targets.map((t, i) => T.fromBuffer(t, batch.targetShapes[i], 'int16').squeeze(1).to('int64'));
  if (device === 'cpu') return { data, targets };
  return { data: data.to(device), targets: targets.map((t) => t.to(device)) };
}

export type SkipReason = 'non-finite loss' | 'non-finite gradients';

export interface TrainStepResult {
  loss: number;
  /** Why the step left weights and optimizer state untouched, or null when it stepped. */
  skipped: SkipReason | null;
}

export interface TrainStepOptions {
  /** Averages gradients over ranks after backward; every rank agrees on skipping. */
  strategy?: Strategy;
  /** Test hook (NNUNET_TS_INJECT_NONFINITE): this step's loss becomes NaN. */
  injectNonFinite?: boolean;
  /**
   * Mixed precision with this loss scaler: forward and loss under autocast on `device`, backward of the scaled loss,
   * gradients unscaled before clipping, and the scaler told whether the step was skipped. Absent: float32 as before.
   */
  amp?: GradScaler;
}

/**
 * Forward, Dice+CE (Dice+BCE with regions) deep-supervision loss, backward, gradient reduction over ranks, clip at norm 12, step. A
 * non-finite loss (on any rank) or non-finite gradients skip the step without changing the weights or the optimizer
 * state, so one bad batch cannot poison the model. With AMP this is also GradScaler's skip: the scaler backs off on
 * it and grows after enough steps without it.
 */
export function trainStep(network: SegmentationNetwork, optimizer: optim.Optimizer, batch: Batch, numClasses: number, loss: DiceCeOptions, device: Device, options: TrainStepOptions = {}): TrainStepResult {
  const { amp } = options;
  return tidy(() => {
    const { data, targets } = batchTensors(batch, device);
    optimizer.zeroGrad();
    let l = maybeAutocast(device, amp !== undefined, () => deepSupervisionLoss(network.forward(data), targets, numClasses, loss));
    if (options.injectNonFinite) l = l.mul(Number.NaN);
    const value = l.item();
    const done = (skipped: SkipReason | null): TrainStepResult => {
      amp?.update(skipped !== null);
      return { loss: value, skipped };
    };
    const bad = Number.isFinite(value) ? 0 : 1;
    if ((options.strategy ? options.strategy.allReduceSum([bad])[0] : bad) > 0) return done('non-finite loss');
    (amp ? amp.scaleLoss(l) : l).backward();
    options.strategy?.reduceGradients(optimizer.params);
    amp?.unscale(optimizer.params);
    // the gradients are the same on every rank after the reduction, so is their norm
    if (!Number.isFinite(optim.clipGradNorm_(optimizer.params, GRAD_CLIP_NORM))) {
      optimizer.zeroGrad();
      return done('non-finite gradients');
    }
    optimizer.step();
    return done(null);
  });
}

export interface ValidationResult {
  loss: number;
  /** per foreground class (or per region), summed over batch and space */
  tp: number[];
  fp: number[];
  fn: number[];
}

/** [prediction, reference] boolean maps per evaluated class; ignored voxels are in no class of the reference. */
function hardMasks(output: Tensor, target: Tensor, numClasses: number, regions: DiceCeOptions['regions']): [Tensor, Tensor][] {
  if (regions) {
    const pred = output.gt(0);
    const gt = regionMasks(target, regions);
    return regions.map((_, r) => [pred.select(1, r), gt.select(1, r)]);
  }
  const pred = output.argmax(1);
  return Array.from({ length: numClasses - 1 }, (_, i) => [pred.eq(i + 1), target.eq(i + 1)]);
}

/**
 * Loss plus hard tp/fp/fn of the full-resolution output, as validation_step: per foreground class of the argmax, or
 * with regions per region head thresholded at sigmoid 0.5 (logit 0) against the region masks, every head kept.
 * `autocast`: forward and loss under autocast, as the training steps of an AMP run.
 */
export function validationStep(network: SegmentationNetwork, batch: Batch, numClasses: number, loss: DiceCeOptions, device: Device, autocast = false): ValidationResult {
  return noGrad(() =>
    tidy(() => {
      const { data, targets } = batchTensors(batch, device);
      const [outputs, l] = maybeAutocast(device, autocast, () => {
        const out = network.forward(data);
        return [out, deepSupervisionLoss(out, targets, numClasses, loss).item()] as const;
      });
      const target = targets[0];
      const valid = loss.ignoreLabel === undefined ? null : target.ne(loss.ignoreLabel);
      const counts = { tp: [] as number[], fp: [] as number[], fn: [] as number[] };
      for (const [pred, g] of hardMasks(outputs[0], target, numClasses, loss.regions)) {
        const p = valid ? pred.logicalAnd(valid) : pred;
        counts.tp.push(p.logicalAnd(g).sum().item());
        counts.fp.push(p.logicalAnd(g.logicalNot()).sum().item());
        counts.fn.push(p.logicalNot().logicalAnd(g).sum().item());
      }
      return { loss: l, ...counts };
    }),
  );
}

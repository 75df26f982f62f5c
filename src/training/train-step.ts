// One optimization step and one validation step on a batch, as nnU-Net's train_step / validation_step.
import type { SegmentationNetwork } from '../model/network-registry.js';
import { type Device, type Tensor, Tensor as T, noGrad, optim, tidy } from '../torch/index.js';
import type { Batch } from '../data/batch-source.js';
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

/** Forward, Dice+CE deep-supervision loss, backward, gradient reduction over ranks, clip at norm 12, step. Returns the loss. */
export function trainStep(network: SegmentationNetwork, optimizer: optim.Optimizer, batch: Batch, numClasses: number, loss: DiceCeOptions, device: Device, strategy?: Strategy): number {
  return tidy(() => {
    const { data, targets } = batchTensors(batch, device);
    optimizer.zeroGrad();
    const l = deepSupervisionLoss(network.forward(data), targets, numClasses, loss);
    l.backward();
    strategy?.reduceGradients(optimizer.params);
    optim.clipGradNorm_(optimizer.params, GRAD_CLIP_NORM);
    optimizer.step();
    return l.item();
  });
}

export interface ValidationResult {
  loss: number;
  /** per foreground class, summed over batch and space */
  tp: number[];
  fp: number[];
  fn: number[];
}

/** Loss plus hard tp/fp/fn of the full-resolution output's argmax (background excluded). */
export function validationStep(network: SegmentationNetwork, batch: Batch, numClasses: number, loss: DiceCeOptions, device: Device): ValidationResult {
  return noGrad(() =>
    tidy(() => {
      const { data, targets } = batchTensors(batch, device);
      const outputs = network.forward(data);
      const l = deepSupervisionLoss(outputs, targets, numClasses, loss).item();
      const pred = outputs[0].argmax(1);
      const target = targets[0];
      const valid = loss.ignoreLabel === undefined ? null : target.ne(loss.ignoreLabel);
      const counts = { tp: [] as number[], fp: [] as number[], fn: [] as number[] };
      for (let c = 1; c < numClasses; c++) {
        let p = pred.eq(c);
        const g = target.eq(c);
        if (valid) p = p.logicalAnd(valid);
        counts.tp.push(p.logicalAnd(g).sum().item());
        counts.fp.push(p.logicalAnd(g.logicalNot()).sum().item());
        counts.fn.push(p.logicalNot().logicalAnd(g).sum().item());
      }
      return { loss: l, ...counts };
    }),
  );
}

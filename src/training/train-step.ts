// One optimization step and one validation step on a batch, as nnU-Net's train_step / validation_step.
import type { PlainConvUNet } from '../network/plain-conv-unet.js';
import { type Tensor, Tensor as T, noGrad, optim, tidy } from '../torch/index.js';
import type { Batch } from '../data/batch-source.js';
import { type DiceCeOptions, deepSupervisionLoss } from './loss/dice-ce.js';

export const GRAD_CLIP_NORM = 12;

/** nnU-Net's optimizer: SGD, momentum 0.99 Nesterov, weight decay 3e-5 (the LR schedule sets lr every epoch). */
export function createOptimizer(params: Tensor[], initialLr = 1e-2): optim.SGD {
  return new optim.SGD(params, { lr: initialLr, momentum: 0.99, nesterov: true, weightDecay: 3e-5 });
}

function batchTensors(batch: Batch, device: string): { data: Tensor; targets: Tensor[] } {
  const data = T.fromBuffer(batch.data, batch.dataShape, 'float32');
  // targets arrive as [B, 1, ...]; the loss takes int64 class maps [B, ...]
  const targets = batch.targets.map((t, i) => T.fromBuffer(t, batch.targetShapes[i], 'int16').squeeze(1).to('int64'));
  if (device === 'cpu') return { data, targets };
  return { data: data.to(device as 'cuda'), targets: targets.map((t) => t.to(device as 'cuda')) };
}

/** Forward, Dice+CE deep-supervision loss, backward, clip at norm 12, SGD step. Returns the loss. */
export function trainStep(network: PlainConvUNet, optimizer: optim.Optimizer, batch: Batch, numClasses: number, loss: DiceCeOptions, device: string): number {
  return tidy(() => {
    const { data, targets } = batchTensors(batch, device);
    optimizer.zeroGrad();
    const l = deepSupervisionLoss(network.forward(data), targets, numClasses, loss);
    l.backward();
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
export function validationStep(network: PlainConvUNet, batch: Batch, numClasses: number, loss: DiceCeOptions, device: string): ValidationResult {
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

// AdamW (decoupled weight decay) following torch.optim.AdamW's single-tensor arithmetic; `step` is a float32 tensor as in torch ≥ 1.12.
import { noGrad } from '../autograd.js';
import { keep, tidy } from '../scope.js';
import { type Tensor, zeros } from '../tensor.js';
import { Optimizer } from './optimizer.js';

export interface AdamWOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

export class AdamW extends Optimizer {
  constructor(params: Tensor[], options: AdamWOptions = {}) {
    super(params, {
      lr: options.lr ?? 1e-3,
      betas: options.betas ?? [0.9, 0.999],
      eps: options.eps ?? 1e-8,
      weight_decay: options.weightDecay ?? 1e-2,
      amsgrad: false,
      maximize: false,
      foreach: null,
      capturable: false,
      differentiable: false,
      fused: null,
    });
  }

  step(): void {
    const lr = this.group.lr as number;
    const [beta1, beta2] = this.group.betas as number[];
    const eps = this.group.eps as number;
    const wd = this.group.weight_decay as number;
    noGrad(() =>
      this.params.forEach((p, i) =>
        tidy(() => {
          const g = p.grad;
          if (!g) return;
          let s = this.state.get(i);
          if (!s) {
            s = { step: keep(zeros([])), exp_avg: keep(zeros(p.shape, p.dtype)), exp_avg_sq: keep(zeros(p.shape, p.dtype)) };
            this.state.set(i, s);
          }
          s.step.add_(1);
          p.mul_(1 - lr * wd);
          s.exp_avg.mul_(beta1).add_(g, 1 - beta1);
          s.exp_avg_sq.mul_(beta2).addcmul_(g, g, 1 - beta2);
          const step = s.step.item();
          const biasCorrection1 = 1 - beta1 ** step;
          const biasCorrection2Sqrt = Math.sqrt(1 - beta2 ** step);
          const denom = s.exp_avg_sq.sqrt().div(biasCorrection2Sqrt).add_(eps);
          p.addcdiv_(s.exp_avg, denom, -lr / biasCorrection1);
        }),
      ),
    );
  }
}

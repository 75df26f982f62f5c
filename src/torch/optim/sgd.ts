// SGD with momentum, dampening, Nesterov and weight decay: the same arithmetic, in the same order, as torch.optim.SGD
// (single-tensor path), so updates match PyTorch bit for bit on the CPU.
import { noGrad } from '../autograd.js';
import { keep, tidy } from '../scope.js';
import type { Tensor } from '../tensor.js';
import { Optimizer } from './optimizer.js';

export interface SgdOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

export class SGD extends Optimizer {
  constructor(params: Tensor[], options: SgdOptions) {
    super(params, {
      lr: options.lr,
      momentum: options.momentum ?? 0,
      dampening: options.dampening ?? 0,
      weight_decay: options.weightDecay ?? 0,
      nesterov: options.nesterov ?? false,
      maximize: false,
      foreach: null,
      differentiable: false,
    });
    if (this.group.nesterov && ((this.group.momentum as number) <= 0 || this.group.dampening !== 0)) {
      throw new Error('Nesterov momentum requires a momentum and zero dampening');
    }
  }

  step(): void {
    const { lr, momentum, dampening, weight_decay: wd, nesterov } = this.group as Record<string, number | boolean>;
    noGrad(() =>
      this.params.forEach((p, i) =>
        tidy(() => {
          const g = p.grad;
          if (!g) return;
          let d = wd !== 0 ? g.add(p, wd as number) : g;
          if (momentum !== 0) {
            const s = this.state.get(i);
            let buf = s?.momentum_buffer;
            if (!buf) {
              buf = keep(d.clone().detach());
              this.state.set(i, { momentum_buffer: buf });
            } else buf.mul_(momentum as number).add_(d, 1 - (dampening as number));
            d = nesterov ? d.add(buf, momentum as number) : buf;
          }
          p.add_(d, -(lr as number));
        }),
      ),
    );
  }
}

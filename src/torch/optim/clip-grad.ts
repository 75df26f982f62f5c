// clip_grad_norm_ as torch.nn.utils: total 2-norm over all gradients, scaled by min(1, max/(total+1e-6)).
import { noGrad } from '../autograd.js';
import { tidy } from '../scope.js';
import { type Tensor, stack } from '../tensor.js';

/** Returns the total norm before clipping. */
export function clipGradNorm_(params: Tensor[], maxNorm: number): number {
  return noGrad(() =>
    tidy(() => {
      const grads = params.map((p) => p.grad).filter((g): g is Tensor => g !== null);
      if (grads.length === 0) return 0;
      const total = stack(grads.map((g) => g.norm(2))).norm(2);
      const coef = total.add(1e-6).reciprocal().mul(maxNorm).clamp(null, 1);
      for (const g of grads) g.mul_(coef);
      return total.item();
    }),
  );
}

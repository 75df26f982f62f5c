// Weight initialization as torch.nn.init, drawing from a seeded Generator.
import { noGrad } from '../autograd.js';
import { normal_, type Generator } from '../random.js';
import type { Tensor } from '../tensor.js';

/** torch's fan_in: size(1) × receptive field (for ConvTranspose weights [in, out, ...] this is out × kernel, as in torch). */
export function fanIn(weight: Tensor): number {
  const shape = weight.shape;
  return shape[1] * shape.slice(2).reduce((a, b) => a * b, 1);
}

/** kaiming_normal_(mode='fan_in', nonlinearity='leaky_relu', a): std = sqrt(2 / (1 + a²)) / sqrt(fan_in). */
export function kaimingNormal_(weight: Tensor, a: number, generator?: Generator): Tensor {
  const std = Math.sqrt(2 / (1 + a * a)) / Math.sqrt(fanIn(weight));
  return noGrad(() => normal_(weight, 0, std, generator));
}

export function zeros_(t: Tensor): Tensor {
  return noGrad(() => t.zero_());
}

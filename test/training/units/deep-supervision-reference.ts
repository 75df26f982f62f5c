// What the loss tests against PyTorch share: the stride-2 nearest targets, the deep-supervision weighting on the
// Python side (upstream's DeepSupervisionWrapper weights: 1/2^i, the last 0, normalized) and the comparison of loss,
// per-level gradients and per-level terms.
import assert from 'node:assert/strict';
import { type Tensor, tensor } from '../../../src/torch/index.js';
import { assertClose, type Exchange, refTensor } from '../../torch/torch-reference.js';

/** Every other voxel along each spatial axis: the nearest-neighbour target of a stride-2 level. */
export function halve(t: Tensor): Tensor {
  let out = t;
  for (let d = 1; d < t.ndim; d++) out = out.slice(d, 0, out.size(d), 2);
  return out.contiguous();
}

/**
 * Python that ends a reference script: `levelLoss(x, target)` over `inp['logits']` and the list `targets`, weighted
 * as upstream's deep supervision; writes out['loss'], out['grad<i>'] and out['terms'].
 */
export function pyDeepSupervision(levelLoss: string, targets: string): string {
  return `
logits = [l.clone().requires_grad_(True) for l in inp['logits']]
n = len(logits)
w = [1 / 2 ** i for i in range(n)]
w[-1] = 0
w = [v / sum(w) for v in w]
loss = sum(w[i] * ${levelLoss}(logits[i], ${targets}[i]) for i in range(n) if w[i] != 0)
loss.backward()
out['loss'] = loss.detach()
for i in range(n):
    out[f'grad{i}'] = logits[i].grad if logits[i].grad is not None else torch.zeros_like(logits[i])
out['terms'] = torch.stack([torch.as_tensor(${levelLoss}(l.detach(), t), dtype=torch.float32) for l, t in zip(inp['logits'], ${targets})])
`;
}

/** Loss, each level's gradient (the weight-0 last level has none on either side) and the per-level terms. */
export function assertMatchesReference(ref: Record<string, Exchange>, loss: Tensor, leaves: readonly Tensor[], terms: number[]): void {
  const tolerance = { atol: 1e-5, rtol: 1e-5 };
  assertClose(loss, refTensor(ref, 'loss'), { ...tolerance, what: 'loss' });
  leaves.forEach((l, i) => {
    const grad = l.grad;
    assert.ok(grad || i === leaves.length - 1, `level ${i} has a gradient`);
    assertClose(grad ?? l.mul(0), refTensor(ref, `grad${i}`), { ...tolerance, what: `gradient of level ${i}` });
  });
  assertClose(tensor(terms), refTensor(ref, 'terms'), { ...tolerance, what: 'per-level loss' });
}

// Two training steps of nnunet-ts (PlainConvUNet forward with deep supervision, Dice+CE loss, backward, clipping at
// norm 12, SGD Nesterov) against the same steps in PyTorch, with gradients large enough that clipping acts. The Python side rebuilds the network from the state-dict
// keys with torch.nn.functional, following dynamic_network_architectures' PlainConvUNet, and the loss from nnU-Net's
// DC_and_CE_loss (MemoryEfficientSoftDiceLoss, do_bg False, smooth 1e-5) inside its deep-supervision wrapper.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Batch } from '../../../src/data/batch-source.js';
import { architectureFromPlans } from '../../../src/network/architecture.js';
import { PlainConvUNet } from '../../../src/network/plain-conv-unet.js';
import { Generator, type Tensor, noGrad, randint, randn, tidy } from '../../../src/torch/index.js';
import { nnUNetTrainer } from '../../../src/training/recipes/recipe.js';
import { trainStep } from '../../../src/training/train-step.js';
import { assertClose, referenceUnavailable, runTorch } from '../../torch/torch-reference.js';

const NUM_CLASSES = 3;
const BATCH = 2;

const PY_STEP = `
import torch.nn.functional as F
sd, arch = inp['state'], inp['arch']
dims = len(arch['kernel_sizes'][0])
conv = F.conv3d if dims == 3 else F.conv2d
tconv = F.conv_transpose3d if dims == 3 else F.conv_transpose2d
params = {k: v.clone().requires_grad_(True) for k, v in sd.items()}

def block(prefix, x, n, stride, kernel):
    for j in range(n):
        p = f'{prefix}.convs.{j}'
        x = conv(x, params[f'{p}.conv.weight'], params[f'{p}.conv.bias'], stride if j == 0 else 1, [k // 2 for k in kernel])
        x = F.instance_norm(x, weight=params[f'{p}.norm.weight'], bias=params[f'{p}.norm.bias'], eps=1e-5)
        x = F.leaky_relu(x, 0.01, inplace=True)
    return x

def forward(x):
    skips = []
    for s in range(arch['n_stages']):
        x = block(f'encoder.stages.{s}.0', x, arch['n_conv_per_stage'][s], arch['strides'][s], arch['kernel_sizes'][s])
        skips.append(x)
    x, outs = skips[-1], []
    for s in range(arch['n_stages'] - 1):
        stride = arch['strides'][-(s + 1)]
        up = tconv(x, params[f'decoder.transpconvs.{s}.weight'], params[f'decoder.transpconvs.{s}.bias'], stride)
        x = block(f'decoder.stages.{s}', torch.cat([up, skips[-(s + 2)]], 1), arch['n_conv_per_stage_decoder'][s], 1, arch['kernel_sizes'][-(s + 2)])
        outs.append(conv(x, params[f'decoder.seg_layers.{s}.weight'], params[f'decoder.seg_layers.{s}.bias']))
    return outs[::-1]

def soft_dice(logits, y):
    x = torch.softmax(logits, 1)
    axes = tuple(range(2, x.ndim))
    with torch.no_grad():
        onehot = torch.zeros_like(x, dtype=torch.bool).scatter_(1, y[:, None], 1)[:, 1:]
    x = x[:, 1:]
    intersect, sum_pred, sum_gt = (x * onehot).sum(axes), x.sum(axes), onehot.sum(axes)
    if inp['batch_dice']:
        intersect, sum_pred, sum_gt = intersect.sum(0), sum_pred.sum(0), sum_gt.sum(0)
    return -((2 * intersect + 1e-5) / torch.clip(sum_gt + sum_pred + 1e-5, 1e-8)).mean()

n_out = arch['n_stages'] - 1
w = [1 / 2 ** i for i in range(n_out)]
w[-1] = 0
w = [v / sum(w) for v in w]
unique = [params[k] for k in inp['param_keys']]
opt = torch.optim.SGD(unique, lr=1e-2, momentum=0.99, nesterov=True, weight_decay=3e-5)
out['losses'] = []
for step in range(2):
    opt.zero_grad()
    outs = forward(inp['x'])
    loss = sum(wi * (F.cross_entropy(o, t) + soft_dice(o, t)) for wi, o, t in zip(w, outs, inp['targets']) if wi != 0)
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(unique, 12)
    if step == 0:
        out['norm'] = norm.item()
        # the segmentation head of weight 0 gets no gradient at all (and so no weight decay)
        out['grad'] = {k: params[k].grad.clone() for k in inp['param_keys'] if params[k].grad is not None}
    opt.step()
    out['losses'].append(loss.item())
out['after'] = {k: params[k].detach() for k in inp['param_keys']}
`;

function archKwargs(dims: 2 | 3, stages: number) {
  const k = new Array<number>(dims).fill(3);
  const perStage = <T>(f: (s: number) => T) => Array.from({ length: stages }, (_, s) => f(s));
  return {
    n_stages: stages,
    features_per_stage: perStage((s) => 4 << s),
    kernel_sizes: perStage(() => k),
    strides: perStage((s) => k.map(() => (s === 0 ? 1 : 2))),
    n_conv_per_stage: perStage(() => 2),
    n_conv_per_stage_decoder: perStage(() => 2).slice(1),
    conv_bias: true,
    nonlin_kwargs: { inplace: true },
  };
}

/** Every other voxel along each spatial axis: the nearest-neighbour target of a stride-2 level. */
function halve(t: Tensor): Tensor {
  let out = t;
  for (let d = 1; d < t.ndim; d++) out = out.slice(d, 0, out.size(d), 2);
  return out.contiguous();
}

const why = referenceUnavailable();

describe('one training step matches PyTorch', { skip: why ?? false }, () => {
  // 3 stages: deep-supervision weights [1, 0]; 4 stages: [4/7, 2/7, 1/7, 0]
  for (const { dims, stages, patch, batchDice } of [
    { dims: 3 as const, stages: 3, patch: [8, 8, 8], batchDice: false },
    { dims: 2 as const, stages: 4, patch: [16, 16], batchDice: true },
  ]) {
    test(`${dims}D, ${stages} stages, batch dice ${batchDice}: loss, gradients and weights after two SGD steps`, () =>
      tidy(() => {
        const g = new Generator(3);
        const arch = archKwargs(dims, stages);
        const net = new PlainConvUNet(architectureFromPlans(arch, 1, NUM_CLASSES)).initialize(g);
        net.train();
        net.deepSupervision = true;
        const params = new Map(net.namedParameters());
        // Instance norm undoes the scale of the conv before it, so shrinking that conv's weights leaves the forward
        // pass alone and multiplies their gradients by 100: the total norm then exceeds 12 and clipping acts.
        noGrad(() => (params.get('encoder.stages.0.0.convs.1.conv.weight') as Tensor).mul_(0.01));
        const keys = [...params.keys()];
        const state = Object.fromEntries([...params].map(([k, p]) => [k, p.detach().clone()]));
        const x = randn([BATCH, 1, ...patch], g);
        const full = randint(0, NUM_CLASSES, [BATCH, ...patch], g);
        const targets = [full];
        while (targets.length < stages - 1) targets.push(halve(targets[targets.length - 1]));

        const ref = runTorch(PY_STEP, { state, arch, x, targets, batch_dice: batchDice, param_keys: keys });

        const batch: Batch = {
          index: 0,
          data: x.toTypedArray() as Float32Array,
          dataShape: x.shape,
          targets: targets.map((t) => t.to('int16').toTypedArray() as Int16Array),
          targetShapes: targets.map((t) => [BATCH, 1, ...t.shape.slice(1)]),
        };
        const optimizer = nnUNetTrainer.createOptimizer(net.parameters(), nnUNetTrainer);
        // nnU-Net's settings (the values move weights too little in two steps for the comparison to see weight decay)
        assert.deepEqual(
          { lr: optimizer.group.lr, momentum: optimizer.group.momentum, nesterov: optimizer.group.nesterov, weight_decay: optimizer.group.weight_decay },
          { lr: 1e-2, momentum: 0.99, nesterov: true, weight_decay: 3e-5 },
        );
        const losses: number[] = [];
        const firstGrads = new Map<string, Tensor>();
        for (let step = 0; step < 2; step++) {
          losses.push(trainStep(net, optimizer, batch, NUM_CLASSES, { batchDice }, 'cpu').loss);
          // the first step's gradients, as clipped and used by SGD
          if (step === 0) for (const [k, p] of params) if (p.grad) firstGrads.set(k, p.grad.clone());
        }
        assert.ok((ref.norm as number) > 12, `gradient norm ${ref.norm} must exceed the clipping threshold`);
        const refLosses = ref.losses as number[];
        for (let i = 0; i < 2; i++) assert.ok(Math.abs(losses[i] - refLosses[i]) < 1e-5, `loss of step ${i + 1}: ${losses[i]} vs PyTorch ${refLosses[i]}`);
        const grads = ref.grad as Record<string, Tensor>;
        const after = ref.after as Record<string, Tensor>;
        assert.deepEqual([...firstGrads.keys()], Object.keys(grads), 'the parameters that have a gradient');
        assert.ok(Object.keys(grads).length < keys.length, 'the lowest-resolution head has none');
        for (const k of keys) {
          if (grads[k]) assertClose(firstGrads.get(k) as Tensor, grads[k], { atol: 1e-6, rtol: 1e-4, what: `gradient of ${k}` });
          assertClose(params.get(k) as Tensor, after[k], { atol: 1e-6, rtol: 1e-4, what: `${k} after two steps` });
        }
      }));
  }
});

if (why) console.log(`skipping the PyTorch training-step check: ${why}`);

// ResidualEncoderUNet against a plain-PyTorch restatement of dynamic_network_architectures' module tree
// (resenc_reference.py next to this file): the same state-dict keys in the same order with the same shapes, the same
// deep-supervision outputs and parameter gradients once the Python side loads our weights, and DNA's initialization.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { type ResidualEncoderUNetArchKwargs, residualEncoderArchitectureFromPlans } from '../../src/network/architecture.js';
import { BasicBlockD, ResidualEncoderUNet } from '../../src/network/residual-encoder-unet.js';
import { F, Generator, type Tensor, dispose, nn, noGrad, normal_, randn, tidy } from '../../src/torch/index.js';
import { type Exchange, referenceUnavailable, runTorch } from '../torch/torch-reference.js';

const REFERENCE = readFileSync(new URL('./resenc_reference.py', import.meta.url), 'utf8');

interface Case {
  name: string;
  arch: ResidualEncoderUNetArchKwargs;
  inputChannels: number;
  numClasses: number;
  patch: number[];
}

// 3D: a stride-1 first stage (identity skip), a strided stage that changes channels (pool + 1×1 conv), an anisotropic
// strided stage with equal channels (pool only) and an unstrided stage that changes channels (1×1 conv only).
// 2D: no conv bias, LeakyReLU not in place with another slope, another eps.
const CASES: Case[] = [
  {
    name: '3D, 4 stages, blocks [1, 3, 4, 6]',
    arch: {
      n_stages: 4,
      features_per_stage: [3, 4, 4, 6],
      kernel_sizes: [[3, 3, 3], [3, 3, 3], [1, 3, 3], [3, 3, 3]],
      strides: [[1, 1, 1], [2, 2, 2], [1, 2, 2], [1, 1, 1]],
      n_blocks_per_stage: [1, 3, 4, 6],
      n_conv_per_stage_decoder: [1, 1, 1],
      conv_bias: true,
      norm_op_kwargs: { eps: 1e-5 },
      nonlin_kwargs: { inplace: true },
    },
    inputChannels: 2,
    numClasses: 3,
    patch: [4, 8, 8],
  },
  {
    name: '2D, 3 stages, no conv bias',
    arch: {
      n_stages: 3,
      features_per_stage: [4, 8, 16],
      kernel_sizes: [[3, 3], [3, 3], [3, 1]],
      strides: [[1, 1], [2, 2], [2, 1]],
      n_blocks_per_stage: [2, 2, 1],
      n_conv_per_stage_decoder: [1, 2],
      conv_bias: false,
      norm_op_kwargs: { eps: 1e-4 },
      nonlin_kwargs: { negative_slope: 0.02, inplace: false },
    },
    inputChannels: 1,
    numClasses: 2,
    patch: [8, 6],
  },
];

function build(c: Case): ResidualEncoderUNet {
  return new ResidualEncoderUNet(residualEncoderArchitectureFromPlans(c.arch, c.inputChannels, c.numClasses));
}

function maxAbsDiff(a: Tensor, b: Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  const x = a.toTypedArray() as Float32Array;
  const y = b.toTypedArray() as Float32Array;
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
  return worst;
}

// One Python run per case: the keys of a fresh network, DNA's initialization, then forward and backward with our weights.
const PY_CASE = `
net = build(inp['arch'], inp['cin'], inp['ncls'])
out['keys'] = [[k, list(v.shape)] for k, v in net.state_dict().items()]

torch.manual_seed(0)
net.apply(net.initialize)
out['zero'] = [k for k, v in net.state_dict().items() if bool((v == 0).all())]
out['one'] = [k for k, v in net.state_dict().items() if bool((v == 1).all())]

net.load_state_dict(inp['state'], strict=True)
net.decoder.deep_supervision = True
outs = net(inp['x'])
loss = sum((o * r).sum() for o, r in zip(outs, inp['r']))
loss.backward()
out['outs'] = outs
out['grads'] = {k: p.grad for k, p in net.named_parameters()}
net.decoder.deep_supervision = False
with torch.no_grad():
    out['top'] = net(inp['x'])
`;

const why = referenceUnavailable();

describe('ResidualEncoderUNet matches dynamic_network_architectures', { skip: why ?? false }, () => {
  for (const c of CASES) {
    describe(c.name, () => {
      let net: ResidualEncoderUNet;
      let ctx: { x: Tensor; r: Tensor[]; ref: Record<string, Exchange> };
      before(() => {
        const g = new Generator(7);
        net = build(c).initialize(g);
        // initialize() zeroes each block's last norm, which would hide the residual branches: randomize all norms
        noGrad(() => {
          for (const [, m] of net.namedModules()) {
            if (!(m instanceof nn.InstanceNorm)) continue;
            normal_(m.weight, 1, 0.3, g);
            normal_(m.bias, 0, 0.3, g);
          }
        });
        ctx = tidy(() => {
          const state = Object.fromEntries([...net.stateDict()].map(([k, t]) => [k, t.detach().clone()]));
          const x = randn([2, c.inputChannels, ...c.patch], g);
          const r = noGrad(() => net.forward(x)).map((o) => randn(o.shape, g));
          const ref = runTorch(REFERENCE + PY_CASE, { arch: c.arch as unknown as Exchange, cin: c.inputChannels, ncls: c.numClasses, state, x, r });
          return { x, r, ref };
        });
      });
      after(() => {
        dispose(ctx);
        net.dispose();
      });

      test('state-dict keys, order and shapes', () =>
        tidy(() => {
          const fresh = build(c);
          const ours = [...fresh.stateDict()].map(([k, t]) => [k, t.shape]);
          assert.deepEqual(ours, ctx.ref.keys);
          // the names nnU-Net checkpoints use
          const keys = new Set(ours.map(([k]) => k as string));
          for (const k of ['encoder.stem.convs.0.conv.weight', 'encoder.stem.convs.0.all_modules.0.weight', 'encoder.stages.0.blocks.0.conv1.conv.weight',
            'encoder.stages.0.blocks.0.conv2.norm.weight', 'decoder.encoder.stem.convs.0.conv.weight', 'decoder.seg_layers.0.weight']) {
            assert.ok(keys.has(k), k);
          }
          fresh.dispose();
        }));

      test('deep-supervision outputs and gradients with the same weights', () =>
        tidy(() => {
          const { x, r, ref } = ctx;
          net.train();
          net.deepSupervision = true;
          net.zeroGrad();
          const outs = net.forward(x);
          assert.equal(outs.length, c.arch.n_stages - 1);
          outs.reduce<Tensor | null>((acc, o, i) => {
            const term = o.mul(r[i]).sum();
            return acc ? acc.add(term) : term;
          }, null)?.backward();
          const refOuts = ref.outs as Tensor[];
          let worstOut = 0;
          outs.forEach((o, i) => (worstOut = Math.max(worstOut, maxAbsDiff(o, refOuts[i]))));
          const grads = ref.grads as Record<string, Tensor>;
          const params = [...net.namedParameters()];
          assert.deepEqual(params.map(([k]) => k), Object.keys(grads), 'parameter names (each once)');
          let worstGrad = 0;
          for (const [k, p] of params) {
            assert.ok(p.grad, `${k} has a gradient`);
            worstGrad = Math.max(worstGrad, maxAbsDiff(p.grad, grads[k]));
          }
          net.deepSupervision = false;
          const top = noGrad(() => net.forward(x));
          assert.equal(top.length, 1);
          const worstTop = maxAbsDiff(top[0], ref.top as Tensor);
          console.log(`${c.name}: max |Δ| outputs ${worstOut.toExponential(2)}, gradients ${worstGrad.toExponential(2)}, no-DS output ${worstTop.toExponential(2)}`);
          assert.ok(worstOut < 1e-4, `outputs differ by ${worstOut}`);
          assert.ok(worstGrad < 1e-4, `gradients differ by ${worstGrad}`);
          assert.ok(worstTop < 1e-4, `output without deep supervision differs by ${worstTop}`);
        }));

      test('initialize() is InitWeights_He(1e-2) + init_last_bn_before_add_to_0', () =>
        tidy(() => {
          const fresh = build(c).initialize(new Generator(1));
          const state = [...fresh.stateDict()];
          const allEqual = (t: Tensor, v: number) => (t.toTypedArray() as Float32Array).every((e) => e === v);
          assert.deepEqual(state.filter(([, t]) => allEqual(t, 0)).map(([k]) => k), ctx.ref.zero, 'all-zero tensors');
          assert.deepEqual(state.filter(([, t]) => allEqual(t, 1)).map(([k]) => k), ctx.ref.one, 'all-one tensors');
          let blocks = 0;
          for (const [, m] of fresh.namedModules()) {
            if (!(m instanceof BasicBlockD)) continue;
            blocks++;
            assert.ok(allEqual(m.conv2.norm.weight, 0) && allEqual(m.conv2.norm.bias, 0));
            assert.ok(allEqual(m.conv1.norm.weight, 1), 'other norms keep weight 1');
          }
          assert.ok(blocks >= c.arch.n_blocks_per_stage.reduce((a, b) => a + b, 0));
          // conv weights ~ N(0, 2 / ((1 + a²) fan_in)): pooled over all convs, the normalized weights have std ≈ 1
          let sq = 0;
          let count = 0;
          for (const [, m] of fresh.namedModules()) {
            if (!(m instanceof nn.Conv)) continue;
            const std = Math.sqrt(2 / (1 + 1e-4)) / Math.sqrt(nn.fanIn(m.weight));
            for (const w of m.weight.toTypedArray() as Float32Array) sq += (w / std) ** 2;
            count += m.weight.numel;
          }
          assert.ok(Math.abs(Math.sqrt(sq / count) - 1) < 0.05, `normalized conv weight std ${Math.sqrt(sq / count)} over ${count} weights`);
          fresh.dispose();
        }));
    });
  }
});

// The skip path's pooling op, with options DNA leaves at their defaults too (1D, padding, ceil mode, padding not counted).
const PY_POOL = `
import torch.nn.functional as F
fns = {3: F.avg_pool1d, 4: F.avg_pool2d, 5: F.avg_pool3d}
out['y'] = [fns[x.ndim](x, c['k'], c['s'], c['p'], c['ceil'], c['count']) for x, c in zip(inp['x'], inp['cases'])]
`;

test('F.avgPool and nn.AvgPool match torch avg_pool1d/2d/3d', { skip: why ?? false }, () =>
  tidy(() => {
    const g = new Generator(5);
    const cases = [
      { shape: [2, 3, 9], k: [3], s: [2], p: [1], ceil: true, count: false },
      { shape: [1, 2, 7, 6], k: [2, 3], s: [2, 3], p: [0, 0], ceil: false, count: true },
      { shape: [1, 2, 5, 6, 7], k: [1, 2, 2], s: [1, 2, 2], p: [0, 1, 1], ceil: true, count: true },
    ];
    const xs = cases.map((c) => randn(c.shape, g));
    const ref = runTorch(PY_POOL, { x: xs, cases: cases.map(({ shape: _, ...c }) => c) }).y as Tensor[];
    cases.forEach((c, i) => {
      const y = F.avgPool(xs[i], c.k, { stride: c.s, padding: c.p, ceilMode: c.ceil, countIncludePad: c.count });
      assert.ok(maxAbsDiff(y, ref[i]) < 1e-6, `case ${i}`);
    });
    // the module: kernel = stride, torch's defaults otherwise
    const m = new nn.AvgPool([1, 2, 2], [1, 2, 2]);
    assert.deepEqual(m.forward(xs[2]).shape, [1, 2, 5, 3, 3]);
    assert.equal(m.stateDict().size, 0);
  }));

describe('residualEncoderArchitectureFromPlans', () => {
  const arch = CASES[0].arch;
  test('maps n_blocks_per_stage and the shared fields', () => {
    const a = residualEncoderArchitectureFromPlans(arch, 2, 3);
    assert.deepEqual(a.nBlocksPerStage, [1, 3, 4, 6]);
    assert.equal(a.leakyInplace, true);
    assert.equal(a.leakySlope, 1e-2);
    assert.equal(a.convBias, true);
  });
  for (const [field, value, message] of [
    ['n_blocks_per_stage', [1, 3, 4], /n_blocks_per_stage needs 4 entries, but it has 3/],
    ['n_blocks_per_stage', [1, 0, 4, 6], /n_blocks_per_stage\[1\] must be a positive integer/],
    ['n_conv_per_stage_decoder', [1, 1, 1, 1], /n_conv_per_stage_decoder needs 3 entries, but it has 4/],
    ['strides', [[1, 1, 1], [2, 2], [1, 2, 2], [1, 1, 1]], /strides\[1\] has 2 axes/],
    ['features_per_stage', [3, 4], /features_per_stage needs 4 entries/],
  ] as const) {
    test(`names ${field} when it is ${JSON.stringify(value)}`, () => {
      assert.throws(() => residualEncoderArchitectureFromPlans({ ...arch, [field]: value }, 1, 2), message);
    });
  }
});

if (why) console.log(`skipping the PyTorch ResidualEncoderUNet checks: ${why}`);

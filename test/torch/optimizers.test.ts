// Optimizers against torch.optim: SGD (nnU-Net's momentum 0.99, Nesterov, weight decay 3e-5) and AdamW give the same
// parameters after 5 steps on the same gradients; clipGradNorm_; state-dict round trips continue identically.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { Generator, type Tensor, keep, optim, randn, tensor } from '../../src/torch/index.js';
import { type Exchange, assertClose, assertSameTensor, maxAbsDiff, refTensor, referenceUnavailable, runTorch } from './torch-reference.js';

const SHAPES = [[4, 3, 3, 3, 3], [4], [2, 4, 2, 2, 2]];
const STEPS = 5;

function makeData(seed: number): { init: Tensor[]; grads: Tensor[][] } {
  const g = new Generator(seed);
  const init = SHAPES.map((s) => randn(s, g));
  const grads = Array.from({ length: STEPS }, () => SHAPES.map((s) => randn(s, g).mul(0.5)));
  return { init, grads };
}

function leaves(init: Tensor[]): Tensor[] {
  return init.map((t) => keep(t.clone()).requiresGrad_(true));
}

/** Sets each parameter's .grad to step k's gradients, then steps. */
function run(opt: optim.Optimizer, params: Tensor[], grads: Tensor[][], from = 0, to = grads.length): void {
  for (let k = from; k < to; k++) {
    params.forEach((p, i) => (p.grad = grads[k][i].clone()));
    opt.step();
  }
}

const sgdOptions: optim.SgdOptions = { lr: 0.01, momentum: 0.99, nesterov: true, weightDecay: 3e-5 };
const adamOptions: optim.AdamWOptions = { lr: 3e-3, betas: [0.9, 0.99], eps: 1e-8, weightDecay: 0.05 };

describe('known values', () => {
  test('plain SGD is p − lr·g; momentum accumulates; Nesterov looks ahead', () => {
    const p = [keep(tensor([1, 2])).requiresGrad_(true)];
    const plain = new optim.SGD(p, { lr: 0.5 });
    run(plain, p, [[tensor([2, -2])]]);
    assert.deepEqual(p[0].toArray(), [0, 3]);
    const q = [keep(tensor([0])).requiresGrad_(true)];
    const mom = new optim.SGD(q, { lr: 1, momentum: 0.5 });
    run(mom, q, [[tensor([1])], [tensor([1])]]); // buf 1, then 1.5: 0 − 1 − 1.5
    assert.deepEqual(q[0].toArray(), [-2.5]);
    const r = [keep(tensor([0])).requiresGrad_(true)];
    const nes = new optim.SGD(r, { lr: 1, momentum: 0.5, nesterov: true });
    run(nes, r, [[tensor([1])], [tensor([1])]]); // steps g + m·buf: 1.5, then 1 + 0.5·1.5 = 1.75
    assert.deepEqual(r[0].toArray(), [-3.25]);
    assert.throws(() => new optim.SGD(r, { lr: 1, nesterov: true }), /Nesterov momentum requires a momentum/);
  });

  test('a parameter without a gradient is left alone; lr can be changed between steps', () => {
    const p = [keep(tensor([1])).requiresGrad_(true), keep(tensor([5])).requiresGrad_(true)];
    const opt = new optim.SGD(p, { lr: 1 });
    p[0].grad = tensor([1]);
    opt.step();
    assert.deepEqual(p.map((t) => t.item()), [0, 5]);
    opt.lr = 0.25;
    opt.step();
    assert.deepEqual(p.map((t) => t.item()), [-0.25, 5]);
  });

  test('clipGradNorm_ scales gradients to the max norm and returns the norm before clipping', () => {
    const a = keep(tensor([0, 0])).requiresGrad_(true);
    const b = keep(tensor([0])).requiresGrad_(true);
    a.grad = tensor([3, 0]);
    b.grad = tensor([4]);
    assert.equal(optim.clipGradNorm_([a, b], 1), 5);
    assertClose(a.grad as Tensor, [0.6, 0], { atol: 1e-6 });
    assertClose(b.grad as Tensor, [0.8], { atol: 1e-6 });
    assert.ok(Math.abs(optim.clipGradNorm_([a, b], 10) - 1) < 1e-6);
    assertClose(b.grad as Tensor, [0.8], { atol: 1e-6 });
    assert.equal(optim.clipGradNorm_([keep(tensor([1]))], 1), 0, 'no gradients');
  });
});

describe('state dict round trip', () => {
  for (const [name, make] of [
    ['SGD', (p: Tensor[]) => new optim.SGD(p, sgdOptions)],
    ['AdamW', (p: Tensor[]) => new optim.AdamW(p, adamOptions)],
  ] as const) {
    test(`${name}: a fresh optimizer loaded from stateDict() continues exactly like the original`, () => {
      const { init, grads } = makeData(40);
      const original = leaves(init);
      const opt = make(original);
      run(opt, original, grads, 0, 3);
      const saved = opt.stateDict();
      const resumedParams = original.map((p) => keep(p.detach().clone()).requiresGrad_(true));
      const resumed = make(resumedParams);
      resumed.loadStateDict(saved);
      run(opt, original, grads, 3, STEPS);
      run(resumed, resumedParams, grads, 3, STEPS);
      original.forEach((p, i) => assertSameTensor(resumedParams[i], p, `${name} parameter ${i}`));
      assert.deepEqual([...saved.state.keys()], [0, 1, 2]);
      assert.deepEqual(saved.param_groups[0].params, [0, 1, 2]);
    });
  }

  test('stateDict is a snapshot and loadStateDict checks shapes and group count', () => {
    const p = [keep(tensor([1, 2])).requiresGrad_(true)];
    const opt = new optim.SGD(p, { lr: 1, momentum: 0.9 });
    run(opt, p, [[tensor([1, 1])]]);
    const sd = opt.stateDict();
    run(opt, p, [[tensor([1, 1])]]);
    assert.deepEqual(sd.state.get(0)?.momentum_buffer.toArray(), [1, 1], 'later steps do not change a saved state');
    const wrong = { state: new Map([[0, { momentum_buffer: tensor([1, 2, 3]) }]]), param_groups: sd.param_groups };
    assert.throws(() => opt.loadStateDict(wrong), /shape \[3\], parameter has \[2\]/);
    assert.throws(() => opt.loadStateDict({ state: new Map(), param_groups: [] }), /0 param groups/);
  });
});

const skip = referenceUnavailable();
describe('against torch.optim', { skip: skip ?? false }, () => {
  const { init, grads } = makeData(30);
  const clipGrads = SHAPES.map((s) => randn(s, new Generator(31)));
  let ref: Record<string, Exchange>;
  before(() => {
    ref = runTorch(
      `
def run(make):
    ps = [t.clone().requires_grad_(True) for t in inp['init']]
    opt = make(ps)
    for gs in inp['grads']:
        for p, g in zip(ps, gs): p.grad = g.clone()
        opt.step()
    return ps, opt
ps, opt = run(lambda ps: torch.optim.SGD(ps, lr=0.01, momentum=0.99, nesterov=True, weight_decay=3e-5))
out['sgd'] = ps
out['sgd_group_keys'] = sorted(k for k in opt.state_dict()['param_groups'][0].keys())
out['sgd_state_keys'] = sorted(opt.state_dict()['state'][0].keys())
out['sgd_plain'] = run(lambda ps: torch.optim.SGD(ps, lr=0.1))[0]
out['sgd_damp'] = run(lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.3, weight_decay=1e-3))[0]
ps, opt = run(lambda ps: torch.optim.AdamW(ps, lr=3e-3, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.05))
out['adamw'] = ps
out['adamw_group_keys'] = sorted(opt.state_dict()['param_groups'][0].keys())
st = opt.state_dict()['state'][0]
out['adamw_state_keys'] = sorted(st.keys())
out['adamw_step'] = st['step']
out['adamw_default'] = run(lambda ps: torch.optim.AdamW(ps))[0]
for name, mx in (('clip', 1.0), ('noclip', 1e4)):
    ps = [t.clone().requires_grad_(True) for t in inp['init']]
    for p, g in zip(ps, inp['clipGrads']): p.grad = g.clone()
    out[name + '_norm'] = torch.nn.utils.clip_grad_norm_(ps, mx)
    out[name + '_grads'] = [p.grad for p in ps]
`,
      { init, grads, clipGrads },
    );
  });

  function check(name: string, params: Tensor[], expected: Exchange, bitwise: boolean): void {
    const exp = expected as Tensor[];
    params.forEach((p, i) => {
      if (bitwise) assertSameTensor(p.detach(), exp[i], `${name} parameter ${i}`);
      else assert.ok(maxAbsDiff(p, exp[i]) < 1e-6, `${name} parameter ${i}: max |diff| ${maxAbsDiff(p, exp[i])}`);
    });
  }

  test('SGD momentum 0.99, Nesterov, weight decay 3e-5: bitwise equal after 5 steps', () => {
    const ps = leaves(init);
    run(new optim.SGD(ps, sgdOptions), ps, grads);
    check('SGD', ps, ref.sgd, true);
  });

  test('SGD without momentum, and with dampening: bitwise equal', () => {
    let ps = leaves(init);
    run(new optim.SGD(ps, { lr: 0.1 }), ps, grads);
    check('plain SGD', ps, ref.sgd_plain, true);
    ps = leaves(init);
    run(new optim.SGD(ps, { lr: 0.1, momentum: 0.9, dampening: 0.3, weightDecay: 1e-3 }), ps, grads);
    check('SGD dampening', ps, ref.sgd_damp, true);
  });

  test('AdamW: equal after 5 steps (max |diff| < 1e-6), default hyper-parameters too', () => {
    let ps = leaves(init);
    run(new optim.AdamW(ps, adamOptions), ps, grads);
    check('AdamW', ps, ref.adamw, false);
    ps = leaves(init);
    run(new optim.AdamW(ps), ps, grads);
    check('AdamW defaults', ps, ref.adamw_default, false);
  });

  test('AdamW: bitwise equal after 5 steps', () => {
    const ps = leaves(init);
    run(new optim.AdamW(ps, adamOptions), ps, grads);
    check('AdamW', ps, ref.adamw, true);
  });

  test('state-dict layout matches torch (state keys, step dtype, param-group keys)', () => {
    const ps = leaves(init);
    const sgd = new optim.SGD(ps, sgdOptions);
    run(sgd, ps, grads, 0, 1);
    const sgdSd = sgd.stateDict();
    assert.deepEqual(Object.keys(sgdSd.state.get(0) ?? {}).sort(), ref.sgd_state_keys);
    assert.deepEqual(Object.keys(sgdSd.param_groups[0]).sort(), ref.sgd_group_keys);
    const adam = new optim.AdamW(ps, adamOptions);
    run(adam, ps, grads);
    const adamSd = adam.stateDict();
    assert.deepEqual(Object.keys(adamSd.state.get(0) ?? {}).sort(), ref.adamw_state_keys);
    assertSameTensor(adamSd.state.get(0)?.step as Tensor, refTensor(ref, 'adamw_step'), 'AdamW step');
    // torch ≥ 2.0 adds 'fused'; every key torch 1.13 writes must be present
    const own = Object.keys(adamSd.param_groups[0]);
    for (const k of ref.adamw_group_keys as string[]) assert.ok(own.includes(k), `AdamW param group lacks '${k}'`);
  });

  for (const name of ['clip', 'noclip'] as const) {
    test(`clipGradNorm_ equals torch.nn.utils.clip_grad_norm_ bitwise (${name === 'clip' ? 'max norm 1: clips' : 'max norm 1e4: no-op'})`, () => {
      const ps = leaves(init);
      ps.forEach((p, i) => (p.grad = clipGrads[i].clone()));
      const norm = optim.clipGradNorm_(ps, name === 'clip' ? 1 : 1e4);
      assert.equal(Math.fround(norm), refTensor(ref, `${name}_norm`).item());
      (ref[`${name}_grads`] as Tensor[]).forEach((g, i) => assertSameTensor(ps[i].grad as Tensor, g, `grad ${i}`));
    });
  }
});

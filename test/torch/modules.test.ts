// Modules: parameter registration, torch-compatible state-dict keys, loading, forward equality with torch.nn.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { Generator, type Tensor, nn, noGrad, randn, zeros } from '../../src/torch/index.js';
import { type Exchange, assertClose, refTensor, referenceUnavailable, runTorch } from './torch-reference.js';

/** The network whose keys the test compares: one nnU-Net stage and its decoder upsampling. */
function buildNet(generator?: Generator): nn.Sequential {
  return new nn.Sequential([
    new nn.Conv({ inChannels: 1, outChannels: 4, kernelSize: [3, 3, 3], padding: [1, 1, 1], generator }),
    new nn.InstanceNorm(4),
    new nn.LeakyReLU(0.01),
    new nn.Conv({ inChannels: 4, outChannels: 2, kernelSize: [2, 2, 2], stride: [2, 2, 2], transposed: true, generator }),
  ]);
}

function buildNested(): nn.ModuleList {
  return new nn.ModuleList([buildNet(), new nn.Sequential([new nn.Conv({ inChannels: 2, outChannels: 3, kernelSize: [1, 1, 1], bias: false })])]);
}

describe('modules', () => {
  test('parameters, shapes and default init', () => {
    const net = buildNet(new Generator(1));
    const conv = net.layers[0] as nn.Conv;
    assert.deepEqual(conv.weight.shape, [4, 1, 3, 3, 3]);
    assert.deepEqual((net.layers[3] as nn.Conv).weight.shape, [4, 2, 2, 2, 2], 'transposed weight is [in, out, ...kernel]');
    assert.equal(net.parameters().length, 6);
    assert.ok(net.parameters().every((p) => p.requiresGrad && p.kept));
    const bound = 1 / Math.sqrt(27);
    assert.ok(conv.weight.abs().amax().item() <= bound, 'kaiming_uniform(a=√5) bound 1/√fan_in');
    assert.ok((conv.bias as Tensor).abs().amax().item() <= bound);
    const sameSeed = buildNet(new Generator(1));
    assert.deepEqual((sameSeed.layers[0] as nn.Conv).weight.toArray(), conv.weight.toArray(), 'seeded init is reproducible');
    assert.deepEqual(net.layers[1].parameters().map((p) => p.toArray()), [[1, 1, 1, 1], [0, 0, 0, 0]]);
  });

  test('kaimingNormal_ draws with std √(2/(1+a²))/√fan_in', () => {
    const w = zeros([64, 32, 3, 3, 3]);
    nn.kaimingNormal_(w, 0.01, new Generator(2));
    const expected = Math.sqrt(2 / (1 + 0.01 ** 2)) / Math.sqrt(32 * 27);
    assert.ok(Math.abs(w.std().item() / expected - 1) < 0.02, `std ${w.std().item()} vs ${expected}`);
  });

  test('loadStateDict copies values, reports shape mismatches all at once, and checks keys when strict', () => {
    const a = buildNet(new Generator(3));
    const b = buildNet(new Generator(4));
    b.loadStateDict(a.stateDict());
    for (const [k, t] of a.stateDict()) assert.deepEqual(b.stateDict().get(k)?.toArray(), t.toArray(), k);
    const bad = new Map(a.stateDict());
    bad.set('0.weight', zeros([4, 1, 3, 3, 1]));
    bad.set('3.bias', zeros([3]));
    assert.throws(() => b.loadStateDict(bad), (e: Error) =>
      e instanceof nn.ShapeMismatchError && /2 key\(s\)/.test(e.message) && /0\.weight: checkpoint \[4,1,3,3,1\] vs model \[4,1,3,3,3\]/.test(e.message));
    const partial = new Map(a.stateDict());
    partial.delete('1.bias');
    partial.set('extra', zeros([1]));
    assert.throws(() => b.loadStateDict(partial), /missing: 1\.bias[\s\S]*unexpected: extra/);
    assert.deepEqual(b.loadStateDict(partial, false), { missing: ['1.bias'], unexpected: ['extra'] });
  });

  test('train/eval, zeroGrad, to(dtype), dispose', () => {
    const net = buildNet();
    net.eval();
    assert.ok([...net.namedModules()].every(([, m]) => !m.training));
    net.train();
    assert.ok(net.layers[2].training);
    net.forward(randn([1, 1, 4, 4, 4])).sum().backward();
    assert.ok(net.parameters().every((p) => p.grad !== null));
    net.zeroGrad();
    assert.ok(net.parameters().every((p) => p.grad === null));
    net.to('float64');
    assert.ok(net.parameters().every((p) => p.dtype === 'float64' && p.requiresGrad));
    assert.equal(net.forward(randn([1, 1, 4, 4, 4], undefined, 'float64')).dtype, 'float64');
    const params = net.parameters();
    net.dispose();
    assert.ok(params.every((p) => p.isDisposed));
  });

  test('ModuleList is a container', () => {
    const list = buildNested();
    assert.equal(list.length, 2);
    assert.throws(() => list.forward(), /container/);
  });
});

const skip = referenceUnavailable();
describe('against torch.nn', { skip: skip ?? false }, () => {
  const net = buildNet(new Generator(5));
  const nested = buildNested();
  const x = randn([2, 1, 6, 6, 6], new Generator(6));
  let ref: Record<string, Exchange>;
  before(() => {
    ref = runTorch(
      `
import torch.nn as nn
def build():
    return nn.Sequential(nn.Conv3d(1, 4, 3, padding=1), nn.InstanceNorm3d(4, affine=True), nn.LeakyReLU(0.01),
                         nn.ConvTranspose3d(4, 2, 2, stride=2))
net = build()
nested = nn.ModuleList([build(), nn.Sequential(nn.Conv3d(2, 3, 1, bias=False))])
out['keys'] = list(net.state_dict().keys())
out['shapes'] = [list(v.shape) for v in net.state_dict().values()]
out['nested_keys'] = list(nested.state_dict().keys())
out['param_names'] = [n for n, _ in nested.named_parameters()]
net.load_state_dict(inp['weights'])
out['y'] = net(inp['x'])
torch.manual_seed(0)
tnet = build()
out['torch_weights'] = dict(tnet.state_dict())
out['torch_y'] = tnet(inp['x'])
`,
      { weights: Object.fromEntries(net.stateDict()), x },
    );
  });

  test('state-dict keys, order and shapes equal torch.nn', () => {
    const sd = net.stateDict();
    assert.deepEqual([...sd.keys()], ref.keys);
    assert.deepEqual([...sd.values()].map((t) => t.shape), ref.shapes);
    assert.deepEqual([...nested.stateDict().keys()], ref.nested_keys);
    assert.deepEqual([...nested.namedParameters()].map(([n]) => n), ref.param_names);
  });

  test('the same weights give the same output as torch.nn', () => {
    assertClose(noGrad(() => net.forward(x)), refTensor(ref, 'y'), { atol: 1e-5, what: 'Sequential output' });
  });

  test('weights made by torch load into the module and give the torch output', () => {
    const fresh = buildNet();
    fresh.loadStateDict(ref.torch_weights as Record<string, Tensor>);
    assertClose(noGrad(() => fresh.forward(x)), refTensor(ref, 'torch_y'), { atol: 1e-5, what: 'output with torch-initialized weights' });
  });
});

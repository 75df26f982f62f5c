// Network functions: conv (2D/3D, transposed), instance norm, leaky ReLU, softmax / log-softmax, cross-entropy.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { F, Generator, full, ones, randint, randn, tensor, zeros } from '../../src/torch/index.js';
import { type Exchange, assertClose, refTensor, referenceUnavailable, runTorch } from './torch-reference.js';

const long = (...v: number[]) => tensor(new BigInt64Array(v.map(BigInt)));

describe('known values', () => {
  test('conv with a centred delta kernel is the identity; a 1×1 conv is a channel matmul', () => {
    const x = randn([1, 1, 5, 6], new Generator(1));
    const delta = zeros([1, 1, 3, 3]);
    delta.indexPut_([long(0), long(0), long(1), long(1)], ones([1]));
    assertClose(F.conv(x, delta, null, { padding: 1 }), x, { atol: 0 });
    const y = randn([1, 3, 4], new Generator(2)).reshape([1, 3, 2, 2]);
    const w = tensor([1, 2, 3, -1, 0, 1], [2, 3, 1, 1]);
    const expected = w.reshape([2, 3]).matmul(y.reshape([3, 4])).reshape([1, 2, 2, 2]);
    assertClose(F.conv(y, w, tensor([0.5, -0.5])), expected.add(tensor([0.5, -0.5]).reshape([1, 2, 1, 1])), { atol: 1e-6 });
  });

  test('conv output shapes follow stride, padding and dilation; transposed conv inverts a strided conv', () => {
    const x = zeros([2, 4, 9, 8, 7]);
    assert.deepEqual(F.conv(x, zeros([6, 4, 3, 3, 3]), null, { stride: [2, 2, 1], padding: 1 }).shape, [2, 6, 5, 4, 7]);
    assert.deepEqual(F.conv(x, zeros([6, 2, 3, 3, 3]), null, { dilation: 2, groups: 2 }).shape, [2, 6, 5, 4, 3]);
    const down = zeros([2, 4, 4, 4, 4]);
    assert.deepEqual(F.convTranspose(down, zeros([4, 3, 2, 2, 2]), null, { stride: 2 }).shape, [2, 3, 8, 8, 8]);
    assert.deepEqual(F.convTranspose(down, zeros([4, 3, 3, 3, 3]), null, { stride: 2, padding: 1, outputPadding: 1 }).shape, [2, 3, 8, 8, 8]);
    // a stride-2, kernel-2 transposed conv with a ones kernel copies each voxel into its 2×2 block
    const up = F.convTranspose(tensor([1, 2, 3, 4], [1, 1, 2, 2]), ones([1, 1, 2, 2]), null, { stride: 2 });
    assert.deepEqual(up.toArray(), [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  });

  test('instance norm gives zero mean and unit (biased) variance per sample and channel, then the affine map', () => {
    const x = randn([2, 3, 4, 5, 6], new Generator(3)).mul(4).add(7);
    const y = F.instanceNorm(x, null, null);
    assert.ok(y.mean([2, 3, 4]).abs().amax().item() < 1e-5);
    assert.ok(y.var([2, 3, 4], false).sub(1).abs().amax().item() < 1e-3);
    const w = tensor([2, 1, 0.5]);
    const b = tensor([1, 0, -1]);
    assertClose(F.instanceNorm(x, w, b), y.mul(w.reshape([1, 3, 1, 1, 1])).add(b.reshape([1, 3, 1, 1, 1])), { atol: 1e-5 });
  });

  test('leaky ReLU', () => {
    assert.deepEqual(F.leakyRelu(tensor([-100, -1, 0, 2])).toArray().map((v) => Math.fround(v)), [-1, -0.01, 0, 2].map(Math.fround));
    assert.deepEqual(F.leakyRelu(tensor([-2, 3]), 0.5).toArray(), [-1, 3]);
    const x = tensor([-2, 3]);
    assert.equal(F.leakyRelu_(x, 0.5), x, 'in place returns its input');
    assert.deepEqual(x.toArray(), [-1, 3]);
  });

  test('softmax and log-softmax', () => {
    const x = tensor([1, 2, 3, 1, 1, 1], [2, 3]);
    const s = F.softmax(x, 1);
    assertClose(s.sum(1), [1, 1], { atol: 1e-6 });
    assertClose(s.slice(0, 1), [1 / 3, 1 / 3, 1 / 3], { atol: 1e-7 });
    const e = [1, 2, 3].map(Math.exp);
    const z = e.reduce((a, b) => a + b);
    assertClose(s.slice(0, 0, 1), e.map((v) => v / z), { atol: 1e-7 });
    assertClose(F.logSoftmax(x, -1), s.log(), { atol: 1e-6 });
    assertClose(F.softmax(tensor([1000, 0]), 0), [1, 0], { atol: 0 });
  });

  test('cross-entropy: uniform logits give log(C); ignored voxels leave the mean', () => {
    const logits = zeros([2, 3, 4]);
    const target = long(0, 1, 2, 0, 1, 1, 1, 1).reshape([2, 4]);
    assert.ok(Math.abs(F.crossEntropy(logits, target).item() - Math.log(3)) < 1e-6);
    // sample 0 is confident and right, sample 1 is ignored: the mean covers only sample 0's voxels
    const l2 = zeros([2, 3]);
    l2.indexPut_([long(0), long(1)], full([1], 20));
    const loss = F.crossEntropy(l2, long(1, -100));
    assert.ok(loss.item() < 1e-8, `got ${loss.item()}`);
    assert.deepEqual(F.crossEntropy(l2, long(1, 255), { ignoreIndex: 255, reduction: 'none' }).toArray().slice(1), [0]);
    assert.ok(Math.abs(F.crossEntropy(logits, target, { reduction: 'sum' }).item() - 8 * Math.log(3)) < 1e-5);
  });
});

const skip = referenceUnavailable();
describe('against PyTorch', { skip: skip ?? false }, () => {
  const g = new Generator(5);
  const x2 = randn([2, 4, 11, 10], g);
  const w2 = randn([6, 2, 3, 3], g);
  const b2 = randn([6], g);
  const x3 = randn([2, 3, 7, 6, 5], g);
  const w3 = randn([4, 3, 3, 3, 3], g);
  const b3 = randn([4], g);
  const wt3 = randn([3, 5, 2, 2, 2], g);
  const wt2 = randn([4, 3, 3, 3], g);
  const inW = randn([3], g);
  const inB = randn([3], g);
  const logits = randn([2, 4, 5, 6], g).mul(3);
  const target = randint(0, 4, [2, 5, 6], g);
  const ignoreMask = randint(0, 4, [2, 5, 6], g).eq(0);
  const targetIgn = target.maskedFill(ignoreMask, -1);
  const classW = tensor([0.5, 1, 2, 0.1]);
  let ref: Record<string, Exchange>;
  before(() => {
    ref = runTorch(
      `
import torch.nn.functional as F
i = inp
out['conv2d'] = F.conv2d(i['x2'], i['w2'], i['b2'], stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)
out['conv3d'] = F.conv3d(i['x3'], i['w3'], i['b3'], stride=1, padding=1)
out['conv3d_s2'] = F.conv3d(i['x3'], i['w3'], None, stride=2, padding=0)
out['convT3d'] = F.conv_transpose3d(i['x3'], i['wt3'], None, stride=2)
out['convT2d'] = F.conv_transpose2d(i['x2'], i['wt2'], None, stride=2, padding=1, output_padding=1)
out['in3d'] = F.instance_norm(i['x3'], weight=i['inW'], bias=i['inB'], eps=1e-5)
out['in3d_plain'] = F.instance_norm(i['x3'])
out['leaky'] = F.leaky_relu(i['x3'], 0.01)
out['softmax'] = F.softmax(i['logits'], 1)
out['log_softmax'] = F.log_softmax(i['logits'], 1)
out['ce'] = F.cross_entropy(i['logits'], i['target'])
out['ce_ign'] = F.cross_entropy(i['logits'], i['targetIgn'], ignore_index=-1)
out['ce_none'] = F.cross_entropy(i['logits'], i['targetIgn'], ignore_index=-1, reduction='none')
out['ce_sum_w'] = F.cross_entropy(i['logits'], i['target'], weight=i['classW'], reduction='sum')
out['ce_mean_w_ign'] = F.cross_entropy(i['logits'], i['targetIgn'], weight=i['classW'], ignore_index=-1)
out['ce_smooth'] = F.cross_entropy(i['logits'], i['target'], label_smoothing=0.1)
`,
      { x2, w2, b2, x3, w3, b3, wt3, wt2, inW, inB, logits, target, targetIgn, classW },
    );
  });

  test('conv2d with stride, padding, dilation and groups; conv3d', () => {
    assertClose(F.conv(x2, w2, b2, { stride: [2, 1], padding: [1, 2], dilation: [1, 2], groups: 2 }), refTensor(ref, 'conv2d'), { atol: 1e-5, what: 'conv2d' });
    assertClose(F.conv(x3, w3, b3, { padding: 1 }), refTensor(ref, 'conv3d'), { atol: 1e-5, what: 'conv3d' });
    assertClose(F.conv(x3, w3, null, { stride: 2 }), refTensor(ref, 'conv3d_s2'), { atol: 1e-5, what: 'conv3d stride 2' });
  });

  test('transposed conv 2D and 3D', () => {
    assertClose(F.convTranspose(x3, wt3, null, { stride: 2 }), refTensor(ref, 'convT3d'), { atol: 1e-5, what: 'conv_transpose3d' });
    assertClose(F.convTranspose(x2, wt2, null, { stride: 2, padding: 1, outputPadding: 1 }), refTensor(ref, 'convT2d'), { atol: 1e-5, what: 'conv_transpose2d' });
  });

  test('instance norm and leaky ReLU', () => {
    assertClose(F.instanceNorm(x3, inW, inB), refTensor(ref, 'in3d'), { atol: 1e-5, what: 'instance_norm affine' });
    assertClose(F.instanceNorm(x3, null, null), refTensor(ref, 'in3d_plain'), { atol: 1e-5, what: 'instance_norm' });
    assertClose(F.leakyRelu(x3), refTensor(ref, 'leaky'), { atol: 0, rtol: 0, what: 'leaky_relu' });
  });

  test('softmax and log-softmax', () => {
    assertClose(F.softmax(logits, 1), refTensor(ref, 'softmax'), { atol: 1e-7, what: 'softmax' });
    assertClose(F.logSoftmax(logits, 1), refTensor(ref, 'log_softmax'), { atol: 1e-6, what: 'log_softmax' });
  });

  test('cross-entropy with ignore index, class weights, reductions and label smoothing', () => {
    assertClose(F.crossEntropy(logits, target), refTensor(ref, 'ce'), { what: 'mean' });
    assertClose(F.crossEntropy(logits, targetIgn, { ignoreIndex: -1 }), refTensor(ref, 'ce_ign'), { what: 'ignore_index' });
    assertClose(F.crossEntropy(logits, targetIgn, { ignoreIndex: -1, reduction: 'none' }), refTensor(ref, 'ce_none'), { what: 'none' });
    assertClose(F.crossEntropy(logits, target, { weight: classW, reduction: 'sum' }), refTensor(ref, 'ce_sum_w'), { what: 'weighted sum' });
    assertClose(F.crossEntropy(logits, targetIgn, { weight: classW, ignoreIndex: -1 }), refTensor(ref, 'ce_mean_w_ign'), { what: 'weighted mean, ignored' });
    assertClose(F.crossEntropy(logits, target, { labelSmoothing: 0.1 }), refTensor(ref, 'ce_smooth'), { what: 'label smoothing' });
  });
});

// Autograd: requiresGrad, backward, .grad accumulation, noGrad, and finite-difference checks in float64 of the ops
// nnU-Net trains through.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { F, Generator, type Tensor, enableGrad, isGradEnabled, noGrad, randint, randn, tensor } from '../../src/torch/index.js';
import { gradcheck } from './gradcheck.js';

/** The current gradient's values (read through a call, so TypeScript does not narrow .grad across backward()). */
function gradValues(t: Tensor): number[] | undefined {
  return t.grad?.toArray();
}

describe('gradient bookkeeping', () => {
  test('requiresGrad propagates through ops; backward fills .grad of leaves', () => {
    const x = tensor([1, -2, 3]);
    assert.equal(x.requiresGrad, false);
    x.requiresGrad_();
    assert.equal(x.requiresGrad, true);
    assert.equal(x.grad, null);
    const y = x.square().mul(3).sum();
    assert.equal(y.requiresGrad, true);
    y.backward();
    assert.deepEqual(gradValues(x), [6, -12, 18]);
  });

  test('gradients accumulate until reset', () => {
    const x = tensor([2, 5]).requiresGrad_();
    x.mul(x).sum().backward();
    x.sum().backward();
    assert.deepEqual(gradValues(x), [5, 11]);
    x.grad = null;
    assert.equal(x.grad, null);
    x.sum().backward();
    assert.deepEqual(gradValues(x), [1, 1]);
  });

  test('backward of a non-scalar takes the upstream gradient; without one it is an Error', () => {
    const x = tensor([1, 2, 3]).requiresGrad_();
    const y = x.mul(2);
    assert.throws(() => y.backward(), /grad can be implicitly created only for scalar outputs/);
    y.backward(tensor([1, 0, -1]));
    assert.deepEqual(gradValues(x), [2, 0, -2]);
  });

  test('detach and noGrad stop recording; noGrad restores the mode even when fn throws', () => {
    const x = tensor([1, 2]).requiresGrad_();
    assert.equal(x.detach().requiresGrad, false);
    assert.equal(isGradEnabled(), true);
    const y = noGrad(() => {
      assert.equal(isGradEnabled(), false);
      assert.equal(enableGrad(() => x.mul(2)).requiresGrad, true, 'enableGrad inside noGrad records again');
      return x.mul(2);
    });
    assert.equal(y.requiresGrad, false);
    assert.throws(() => noGrad(() => { throw new Error('boom'); }), /boom/);
    assert.equal(isGradEnabled(), true);
  });

  test('in-place updates of a leaf under noGrad keep it a leaf (the optimizer pattern)', () => {
    const w = tensor([1, 1]).requiresGrad_();
    w.mul(3).sum().backward();
    noGrad(() => w.add_(w.grad as Tensor, -0.5));
    assert.deepEqual(w.toArray(), [-0.5, -0.5]);
    assert.equal(w.requiresGrad, true);
    w.grad = null;
    w.sum().backward();
    assert.deepEqual(gradValues(w), [1, 1]);
  });
});

describe('finite-difference gradient checks (float64)', () => {
  const g = new Generator(17);
  const f64 = (shape: number[]) => randn(shape, g, 'float64');

  test('conv2d and conv3d (input, weight, bias) with stride and padding', () => {
    gradcheck((x, w, b) => F.conv(x, w, b, { stride: [2, 1], padding: 1 }), [f64([1, 2, 5, 4]), f64([3, 2, 3, 3]), f64([3])]);
    gradcheck((x, w, b) => F.conv(x, w, b, { padding: 1 }), [f64([1, 2, 4, 3, 4]), f64([2, 2, 3, 3, 3]), f64([2])]);
  });

  test('transposed conv 2D and 3D', () => {
    gradcheck((x, w, b) => F.convTranspose(x, w, b, { stride: 2 }), [f64([1, 3, 3, 2, 3]), f64([3, 2, 2, 2, 2]), f64([2])]);
    gradcheck((x, w) => F.convTranspose(x, w, null, { stride: 2, padding: 1, outputPadding: 1 }), [f64([2, 2, 3, 3]), f64([2, 3, 3, 3])]);
  });

  test('instance norm (input, weight, bias)', () => {
    gradcheck((x, w, b) => F.instanceNorm(x, w, b), [f64([2, 3, 3, 4, 2]), f64([3]), f64([3])]);
  });

  test('leaky ReLU and softmax', () => {
    gradcheck((x) => F.leakyRelu(x, 0.01), [f64([3, 7])]);
    // in place on a non-leaf, as after instance norm in the U-Net
    gradcheck((x) => F.leakyRelu_(x.mul(2), 0.01), [f64([3, 7])]);
    gradcheck((x) => F.softmax(x, 1), [f64([2, 4, 3])]);
  });

  test('grid_sample 2D and 3D (input and grid), bilinear', () => {
    // grid points strictly inside the image, away from the pixel lattice where bilinear has kinks
    const grid2 = randn([1, 3, 4, 2], g, 'float64').mul(0.3);
    gradcheck((x, grid) => F.gridSample(x, grid, { alignCorners: false }), [f64([1, 2, 5, 6]), grid2]);
    gradcheck((x, grid) => F.gridSample(x, grid, { paddingMode: 'border', alignCorners: true }), [f64([1, 2, 5, 6]), grid2]);
    const grid3 = randn([1, 2, 3, 2, 3], g, 'float64').mul(0.3);
    gradcheck((x, grid) => F.gridSample(x, grid, { alignCorners: false }), [f64([1, 1, 4, 5, 3]), grid3]);
  });

  test('cross-entropy with ignore index, class weights and label smoothing', () => {
    const target = randint(0, 4, [2, 3, 3], g).maskedFill(randint(0, 3, [2, 3, 3], g).eq(0), -100);
    const weight = tensor([0.3, 1, 2, 0.7], [4], 'float64');
    gradcheck((logits, t) => F.crossEntropy(logits, t), [f64([2, 4, 3, 3]), target]);
    gradcheck((logits, t, w) => F.crossEntropy(logits, t, { weight: w, reduction: 'sum' }), [f64([2, 4, 3, 3]), target, weight], { wrt: [0] });
    gradcheck((logits, t) => F.crossEntropy(logits, t, { labelSmoothing: 0.1, reduction: 'none', ignoreIndex: -100 }), [f64([2, 4, 3, 3]), target]);
  });

  test('gradcheck itself catches a wrong gradient', () => {
    // detach() hides half of x·x from autograd: the analytic gradient is x, the true one 2x
    assert.throws(() => gradcheck((x) => x.mul(x.detach()), [f64([4])]), /finite difference/);
  });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { predictSlidingWindow, predictWithMirroring } from '../../src/inference/sliding-window.js';
import { mirrorCombinations } from '../../src/portable/sliding-window.js';
import { Generator, type Tensor, noGrad, randn, tidy } from '../../src/torch/index.js';
import { assertClose, maxAbsDiff, refTensor, referenceUnavailable } from '../torch/torch-reference.js';
import { ConvNet, PY_CONV_NET, runReference, tinyUNet } from './helpers.js';

const gen = () => new Generator(7);

test('mirror combinations: every non-empty subset in itertools.combinations order', () => {
  assert.deepEqual(mirrorCombinations([0, 1, 2]), [[0], [1], [2], [0, 1], [0, 2], [1, 2], [0, 1, 2]]);
  assert.deepEqual(mirrorCombinations([]), []);
});

test('input smaller than the patch: one padded tile, equal to the network on the zero-padded image', () => {
  const net = new ConvNet(2, 3, [3, 3, 3]);
  tidy(() => {
    const x = randn([2, 5, 7, 6], gen());
    const out = predictSlidingWindow(net, x, { patchSize: [8, 8, 8], numClasses: 3 });
    assert.deepEqual(out.shape, [3, 5, 7, 6]);
    // padding: before [1, 0, 1], after [2, 1, 1]; a single tile, so the Gaussian weight cancels
    const direct = noGrad(() => net.forward(x.pad([1, 1, 0, 1, 1, 2]).unsqueeze(0))[0]).select(0, 0).slice(1, 1, 6).slice(2, 0, 7).slice(3, 1, 7);
    assertClose(out, direct.contiguous(), { atol: 1e-5, rtol: 1e-5, what: 'padded single tile' });
  });
});

test('pointwise network: overlapping weighted tiles reproduce the whole-image result exactly', () => {
  const net = new ConvNet(1, 2, [1, 1, 1]);
  tidy(() => {
    const x = randn([1, 23, 30, 17], gen());
    const whole = noGrad(() => net.forward(x.unsqueeze(0))[0]).select(0, 0);
    for (const tileBatchSize of [1, 4]) {
      const out = predictSlidingWindow(net, x, { patchSize: [8, 12, 8], numClasses: 2, tileBatchSize, mirrorAxes: [0, 1, 2] });
      assertClose(out, whole, { atol: 1e-5, rtol: 1e-5, what: `batch ${tileBatchSize}` });
    }
  });
});

test('larger than the patch, with and without mirroring, 3D and 2D-on-3D: equals nnU-Net\'s algorithm in PyTorch', (t) => {
  const why = referenceUnavailable(['torch', 'scipy']);
  if (why) return t.skip(why);
  const net3 = new ConvNet(2, 3, [3, 3, 3], 1);
  const net2 = new ConvNet(2, 3, [3, 3], 2);
  tidy(() => {
    const x = randn([2, 21, 30, 17], gen());
    const cases = [
      { name: 'no_tta', net: net3, patch: [8, 12, 8], mirror: [] as number[], step: 0.5 },
      { name: 'tta', net: net3, patch: [8, 12, 8], mirror: [0, 1, 2], step: 0.5 },
      { name: 'partial_tta_step', net: net3, patch: [10, 12, 16], mirror: [1, 2], step: 0.7 },
      { name: 'two_d', net: net2, patch: [12, 8], mirror: [0, 1], step: 0.5 },
    ];
    for (const c of cases) {
      const ref = runReference(`${PY_CONV_NET}\nout['y'] = ref_sliding_window(net, inp['x'], inp['patch'], inp['step'], inp['mirror'])`, {
        x, w: c.net.conv.weight.detach(), b: (c.net.conv.bias as Tensor).detach(), patch: c.patch, step: c.step, mirror: c.mirror,
      });
      const out = predictSlidingWindow(c.net, x, { patchSize: c.patch, numClasses: 3, stepSize: c.step, mirrorAxes: c.mirror, tileBatchSize: 3 });
      assertClose(out, refTensor(ref, 'y'), { atol: 2e-5, rtol: 1e-4, what: c.name });
    }
  });
});

test('mirroring TTA makes any network flip-equivariant: mirrored input gives the mirrored prediction', () => {
  const net = tinyUNet(3, 1, 3, 3);
  tidy(() => {
    // the whole image is one tile, so the tile layout and the Gaussian weight are symmetric
    const x = randn([1, 8, 12, 16], gen());
    const opts = { patchSize: [8, 12, 16], numClasses: 3 };
    for (const axes of [[0], [2], [0, 1, 2]]) {
      const dims = axes.map((a) => a + 1);
      const tta = predictSlidingWindow(net, x, { ...opts, mirrorAxes: [0, 1, 2] });
      const ttaFlipped = predictSlidingWindow(net, x.flip(dims), { ...opts, mirrorAxes: [0, 1, 2] });
      assertClose(ttaFlipped, tta.flip(dims), { atol: 1e-5, rtol: 1e-4, what: `TTA, flip ${axes}` });
      // without TTA the random network is not equivariant, so the check above is not vacuous
      const plain = predictSlidingWindow(net, x, opts);
      const plainFlipped = predictSlidingWindow(net, x.flip(dims), opts);
      assert.ok(maxAbsDiff(plainFlipped, plain.flip(dims)) > 1e-3, `plain network looked equivariant under flip ${axes}`);
    }
  });
});

test('a flip-symmetric kernel is equivariant through multi-tile sliding windows', () => {
  const net = new ConvNet(1, 2, [3, 3, 3]);
  noGrad(() =>
    tidy(() => {
      // symmetrise the kernel under all three flips
      const w = net.conv.weight;
      const sym = [[], [2], [3], [4], [2, 3], [2, 4], [3, 4], [2, 3, 4]].map((d) => (d.length ? w.flip(d) : w)).reduce((a, b) => a.add(b)).div(8);
      w.copy_(sym);
    }),
  );
  tidy(() => {
    // starts [0, 7, 14], [0, 3, 7, 10], [0, 5, 9, 14]: symmetric layouts; odd tiles keep the Gaussian symmetric
    const x = randn([1, 29, 19, 25], gen());
    const opts = { patchSize: [15, 9, 11], numClasses: 2, tileBatchSize: 2 };
    const out = predictSlidingWindow(net, x, opts);
    const flipped = predictSlidingWindow(net, x.flip([1, 2, 3]), opts);
    assertClose(flipped, out.flip([1, 2, 3]), { atol: 1e-5, rtol: 1e-4, what: 'symmetric kernel' });
  });
});

test('predictWithMirroring averages the plain pass with each flipped-back pass', () => {
  const net = new ConvNet(1, 1, [3, 3]);
  tidy(() => {
    const x = randn([2, 1, 6, 5], gen());
    const f = (t: Tensor) => noGrad(() => net.forward(t)[0]);
    const expected = f(x).add(f(x.flip([3])).flip([3])).div(2);
    assertClose(predictWithMirroring(net, x, [1]), expected, { atol: 1e-6, what: 'axis 1' });
    assert.throws(() => predictWithMirroring(net, x, [2]), /mirror axes \[2\] do not exist in a 2D patch/);
  });
});

test('bad inputs are refused with the shapes in the message', () => {
  const net = new ConvNet(1, 1, [1, 1]);
  tidy(() => {
    assert.throws(() => predictSlidingWindow(net, randn([1, 4, 4, 4, 4]), { patchSize: [4, 4], numClasses: 1 }), /must be \[C, \.\.\.spatial\]/);
    assert.throws(() => predictSlidingWindow(net, randn([1, 4, 4]), { patchSize: [4, 4], numClasses: 3 }), /network returned \[1, 1, 4, 4\].*expected \[1, 3, 4, 4\]/);
  });
});

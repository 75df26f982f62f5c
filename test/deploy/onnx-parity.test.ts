// ONNX parity: the exported graph run by onnxruntime-node against the engine's forward on the same weights, for both
// networks in 2D and 3D (tiny, randomly initialised, norm affine parameters randomised so every term matters).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { networkToOnnx } from '../../src/deploy/export-onnx.js';
import { createOnnxRunner } from '../../src/deploy/onnx-runner.js';
import { type SegmentationNetwork, buildNetwork } from '../../src/model/network-registry.js';
import type { Configuration } from '../../src/planning/plans-schema.js';
import { Generator, noGrad, randn, tensor, tidy } from '../../src/torch/index.js';
import { tinyArchKwargs } from '../inference/helpers.js';

function tinyNetwork(className: 'PlainConvUNet' | 'ResidualEncoderUNet', dims: 2 | 3, inputChannels: number, numClasses: number, seed: number): SegmentationNetwork {
  const { n_conv_per_stage, ...common } = tinyArchKwargs(dims);
  const arch = className === 'PlainConvUNet' ? { ...common, n_conv_per_stage } : { ...common, n_blocks_per_stage: [1, 2, 2] };
  const configuration = { architecture: { network_class_name: className, arch_kwargs: { ...arch, nonlin_kwargs: { negative_slope: 0.02 }, norm_op_kwargs: { eps: 1e-5 } } } } as unknown as Configuration;
  const net = buildNetwork({ configuration, inputChannels, numHeads: numClasses, source: 'test', deepSupervision: false }).initialize(new Generator(seed));
  // He init leaves norm weights at 1/0 (ResEnc's conv2 norms at 0): randomise them so they are tested too
  const g = new Generator(seed + 100);
  const state = new Map(net.stateDict());
  for (const [k, t] of state) if (/norm\.(weight|bias)$/.test(k)) noGrad(() => tidy(() => t.copy_(randn(t.shape, g).mul(0.3).add(k.endsWith('weight') ? 1 : 0))));
  return net.eval();
}

for (const className of ['PlainConvUNet', 'ResidualEncoderUNet'] as const) {
  for (const dims of [2, 3] as const) {
    test(`ONNX export of ${className} ${dims}D matches the engine's forward`, async (t) => {
      const [C, K] = [2, 3];
      const net = tinyNetwork(className, dims, C, K, 7 + dims);
      const onnx = networkToOnnx(net, className, { inputChannels: C, numClasses: K, dims }, 'test');
      const runner = await createOnnxRunner(onnx, { inputName: 'input', outputName: 'logits' });
      try {
        // batch 2 and a non-square spatial size: both dynamic in the graph (multiples of the total stride 4)
        const shape = [2, C, ...(dims === 3 ? [8, 12, 16] : [12, 20])];
        const x = tidy(() => randn(shape, new Generator(3)).toTypedArray() as Float32Array);
        const expected = tidy(() => noGrad(() => net.forward(tensor(x, shape))[0].toTypedArray() as Float32Array));
        const got = await runner.run(x, shape);
        assert.equal(got.length, expected.length);
        let maxDiff = 0;
        let maxAbs = 0;
        for (let i = 0; i < got.length; i++) {
          maxDiff = Math.max(maxDiff, Math.abs(got[i] - expected[i]));
          maxAbs = Math.max(maxAbs, Math.abs(expected[i]));
        }
        assert.ok(maxAbs > 0.1, `logits are not trivial (max |logit| ${maxAbs})`);
        t.diagnostic(`max |onnx - engine| = ${maxDiff.toExponential(2)}, max |logit| = ${maxAbs.toFixed(2)}`);
        assert.ok(maxDiff < 1e-4 * Math.max(1, maxAbs), `max |onnx - engine| = ${maxDiff} (max |logit| ${maxAbs})`);
      } finally {
        await runner.release();
        net.dispose();
      }
    });
  }
}

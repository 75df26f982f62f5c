// The network registry: plans name a class, buildNetwork builds it, an unknown one is one clear error.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildNetwork, networkEntry, registeredNetworks } from '../../src/model/network-registry.js';
import type { Configuration } from '../../src/planning/plans-schema.js';

const configuration = (networkClassName: string): Configuration =>
  ({
    architecture: {
      network_class_name: networkClassName,
      arch_kwargs: {
        n_stages: 2,
        features_per_stage: [4, 8],
        conv_op: 'torch.nn.modules.conv.Conv3d',
        kernel_sizes: [[3, 3, 3], [3, 3, 3]],
        strides: [[1, 1, 1], [2, 2, 2]],
        n_conv_per_stage: [1, 1],
        n_blocks_per_stage: [1, 1],
        n_conv_per_stage_decoder: [1],
        conv_bias: true,
        norm_op: 'torch.nn.modules.instancenorm.InstanceNorm3d',
        norm_op_kwargs: { eps: 1e-5, affine: true },
        dropout_op: null,
        dropout_op_kwargs: null,
        nonlin: 'torch.nn.LeakyReLU',
        nonlin_kwargs: { inplace: true },
      },
      _kw_requires_import: ['conv_op', 'norm_op', 'dropout_op', 'nonlin'],
    },
  }) as unknown as Configuration;

test('both nnU-Net networks are registered under their class names, with their head prefixes', () => {
  assert.deepEqual(registeredNetworks(), ['PlainConvUNet', 'ResidualEncoderUNet']);
  assert.equal(networkEntry('dynamic_network_architectures.architectures.unet.PlainConvUNet', 'plans.json').segmentationHeadPrefix, 'decoder.seg_layers.');
  assert.equal(networkEntry('dynamic_network_architectures.architectures.unet.ResidualEncoderUNet', 'plans.json').segmentationHeadPrefix, 'decoder.seg_layers.');
});

test('buildNetwork builds each registered network with the requested heads', () => {
  for (const cls of registeredNetworks()) {
    const net = buildNetwork({ configuration: configuration(`dynamic_network_architectures.architectures.unet.${cls}`), inputChannels: 2, numHeads: 3, source: 'plans.json', deepSupervision: false });
    const keys = [...net.stateDict().keys()];
    const head = net.stateDict().get(keys.filter((k) => k.startsWith('decoder.seg_layers.')).at(-1) as string);
    assert.equal(head?.shape[0], 3, `${cls} head channels`);
    assert.equal(net.deepSupervision, false);
    net.dispose();
  }
});

test('an unknown network_class_name is one error naming the class and the plans file', () => {
  assert.throws(
    () => buildNetwork({ configuration: configuration('my.lab.FancyUNet'), inputChannels: 1, numHeads: 2, source: '/data/nnUNetPlans.json' }),
    (e: Error) => e.name === 'UserError' && /\/data\/nnUNetPlans\.json/.test(e.message) && /my\.lab\.FancyUNet/.test(e.message) && /PlainConvUNet/.test(e.message),
  );
});

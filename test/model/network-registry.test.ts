// The network registry: plans name a class, buildNetwork builds it, an unknown one is one clear error.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildNetwork, networkEntry, registeredNetworks } from '../../src/model/network-registry.js';
import type { Configuration } from '../../src/planning/plans-schema.js';
import { tinyPlans } from '../inference/model-fixture.js';

/** The tiny 3d_fullres configuration of the inference fixture, naming `networkClassName` (with both depth lists). */
function configuration(networkClassName: string): Configuration {
  const c = structuredClone(tinyPlans().configurations['3d_fullres']) as Configuration;
  c.architecture.network_class_name = networkClassName;
  c.architecture.arch_kwargs.n_blocks_per_stage = c.architecture.arch_kwargs.n_conv_per_stage;
  return c;
}

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

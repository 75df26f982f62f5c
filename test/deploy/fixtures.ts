// Tiny models for the deploy tests: model.json of the inference tests' tiny plans, a toy model runner that needs no
// ONNX runtime, and a 2d ResidualEncoderUNet model folder.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildNetwork } from '../../src/model/network-registry.js';
import { type Plans, resolveConfiguration } from '../../src/planning/plans-schema.js';
import { parseModelJson, type ModelJson } from '../../src/portable/model-json.js';
import type { ModelRunner } from '../../src/portable/sliding-window.js';
import { Generator } from '../../src/torch/index.js';
import { savePth } from '../../src/torch/serialization/pth-file.js';
import { pyOrderedDict, pyTuple } from '../../src/torch/serialization/py-values.js';
import { tinyArchKwargs } from '../inference/helpers.js';
import { TINY_DATASET_JSON, tinyPlans } from '../inference/model-fixture.js';

export function tinyModelJson(): ModelJson {
  const plans = tinyPlans();
  const configuration = plans.configurations['3d_fullres'];
  return parseModelJson(
    {
      format_version: 1,
      exporter: { name: 'nnunet-ts', version: 'test' },
      dataset_name: plans.dataset_name,
      plans_name: plans.plans_name,
      trainer: 'nnUNetTrainer',
      configuration_name: '3d_fullres',
      fold: 0,
      checkpoint: 'checkpoint_final.pth',
      network: { class_name: 'PlainConvUNet', onnx_file: 'model.onnx', opset: 17, input_name: 'input', output_name: 'logits', input_channels: 1, num_classes: 3, total_stride: [4, 4, 4] },
      dataset: { labels: TINY_DATASET_JSON.labels, channel_names: TINY_DATASET_JSON.channel_names, file_ending: TINY_DATASET_JSON.file_ending },
      transpose_forward: plans.transpose_forward,
      transpose_backward: plans.transpose_backward,
      configuration,
      foreground_intensity_properties_per_channel: plans.foreground_intensity_properties_per_channel,
      mirror_axes: [0, 1, 2],
    },
    'tiny model.json',
  );
}

/**
 * Logits of a fixed voxel-wise rule (class k scores sin(k·x) plus a ramp along the last axis), self-contained so its
 * source can run in another realm.
 */
export function toyRunner(numClasses: number): ModelRunner {
  return {
    async run(input: Float32Array, shape: number[]) {
      const n = input.length / shape[1];
      const out = new Float32Array(numClasses * n);
      const last = shape[shape.length - 1];
      for (let k = 0; k < numClasses; k++) for (let i = 0; i < n; i++) out[k * n + i] = Math.sin((k + 1) * input[i]) + (k * (i % last)) / last;
      return out;
    },
  };
}

/**
 * Plans with a 2d configuration of a ResidualEncoderUNet (patch 16², in-plane spacing 0.9 x 1.1), besides the tiny
 * 3d_fullres: slice-wise prediction and in-plane resampling through both backends.
 */
export function tinyPlans2d(): Plans {
  const plans = tinyPlans();
  const base = plans.configurations['3d_fullres'];
  const { n_conv_per_stage: _, ...arch } = tinyArchKwargs(2);
  plans.configurations['2d'] = {
    ...base,
    data_identifier: 'nnUNetPlans_2d',
    patch_size: [16, 16],
    spacing: [0.9, 1.1],
    architecture: {
      ...base.architecture!,
      network_class_name: 'dynamic_network_architectures.architectures.unet.ResidualEncoderUNet',
      arch_kwargs: { ...base.architecture!.arch_kwargs, ...arch, n_blocks_per_stage: [1, 2, 2], conv_op: 'torch.nn.modules.conv.Conv2d' },
    },
  };
  return plans;
}

/** A model folder of `configuration` with one randomly initialised network per fold (seed 20 + fold). */
export async function writeModel(dir: string, plans: Plans, configuration: string, folds: number[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'plans.json'), JSON.stringify(plans));
  await writeFile(path.join(dir, 'dataset.json'), JSON.stringify(TINY_DATASET_JSON));
  for (const fold of folds) {
    const net = buildNetwork({ configuration: resolveConfiguration(plans, configuration), inputChannels: 1, numHeads: 3, source: 'test plans' }).initialize(new Generator(20 + fold));
    await mkdir(path.join(dir, `fold_${fold}`), { recursive: true });
    await savePth(path.join(dir, `fold_${fold}`, 'checkpoint_final.pth'), {
      network_weights: pyOrderedDict(Object.fromEntries(net.stateDict())),
      init_args: { configuration, fold },
      trainer_name: 'nnUNetTrainer',
      inference_allowed_mirroring_axes: pyTuple(0, 1),
      current_epoch: 1,
    });
    net.dispose();
  }
}

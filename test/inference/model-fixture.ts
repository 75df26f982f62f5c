/** A complete tiny model folder (plans.json, dataset.json, fold_X checkpoints) and raw input images for inference tests. */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createHeader, writeNifti } from '../../src/io/nifti.js';
import type { Plans } from '../../src/planning/plans-schema.js';
import { randn, tidy, Generator } from '../../src/torch/index.js';
import { savePth } from '../../src/torch/serialization/pth-file.js';
import { pyOrderedDict, pyTuple } from '../../src/torch/serialization/py-values.js';
import { type PlainConvUNetArchKwargs, architectureFromPlans } from '../../src/network/architecture.js';
import { PlainConvUNet } from '../../src/network/plain-conv-unet.js';
import { tinyArchKwargs } from './helpers.js';

const RESAMPLING = 'resample_data_or_seg_to_shape';

/**
 * Plans with one 3d_fullres configuration (patch 16³, target spacing 1.5 x 1 x 1 in transposed order) and a
 * non-identity transpose, so export must resample and transpose back.
 */
export function tinyPlans(transposeForward = [2, 0, 1]): Plans {
  const transposeBackward = transposeForward.map((_, i) => transposeForward.indexOf(i));
  return {
    dataset_name: 'Dataset999_Tiny',
    plans_name: 'nnUNetPlans',
    original_median_spacing_after_transp: [1.5, 1, 1],
    original_median_shape_after_transp: [16, 16, 16],
    image_reader_writer: 'SimpleITKIO',
    transpose_forward: transposeForward,
    transpose_backward: transposeBackward,
    experiment_planner_used: 'ExperimentPlanner',
    label_manager: 'LabelManager',
    foreground_intensity_properties_per_channel: { '0': { max: 3, mean: 0, median: 0, min: -3, percentile_00_5: -2.5, percentile_99_5: 2.5, std: 1 } },
    configurations: {
      '3d_fullres': {
        data_identifier: 'nnUNetPlans_3d_fullres',
        preprocessor_name: 'DefaultPreprocessor',
        batch_size: 2,
        patch_size: [16, 16, 16],
        median_image_size_in_voxels: [16, 16, 16],
        spacing: [1.5, 1, 1],
        normalization_schemes: ['ZScoreNormalization'],
        use_mask_for_norm: [false],
        resampling_fn_data: RESAMPLING,
        resampling_fn_seg: RESAMPLING,
        resampling_fn_probabilities: RESAMPLING,
        resampling_fn_data_kwargs: { is_seg: false, order: 3, order_z: 0, force_separate_z: null },
        resampling_fn_seg_kwargs: { is_seg: true, order: 1, order_z: 0, force_separate_z: null },
        resampling_fn_probabilities_kwargs: { is_seg: false, order: 1, order_z: 0, force_separate_z: null },
        architecture: {
          network_class_name: 'dynamic_network_architectures.architectures.unet.PlainConvUNet',
          arch_kwargs: {
            ...tinyArchKwargs(3),
            conv_op: 'torch.nn.modules.conv.Conv3d',
            norm_op: 'torch.nn.modules.instancenorm.InstanceNorm3d',
            norm_op_kwargs: { eps: 1e-5, affine: true },
            dropout_op: null,
            dropout_op_kwargs: null,
            nonlin: 'torch.nn.LeakyReLU',
            nonlin_kwargs: { inplace: true },
          },
          _kw_requires_import: ['conv_op', 'norm_op', 'dropout_op', 'nonlin'],
        },
        batch_dice: false,
      },
    },
  };
}

export const TINY_DATASET_JSON = {
  channel_names: { '0': 'MRI' },
  labels: { background: 0, anterior: 1, posterior: 2 },
  numTraining: 0,
  file_ending: '.nii.gz',
};

/** Writes the model folder with one randomly initialised network (of the plans' 3d_fullres) per fold, seed 10 + fold. */
export async function writeTinyModel(dir: string, folds: number[], plans = tinyPlans()): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'plans.json'), JSON.stringify(plans));
  await writeFile(path.join(dir, 'dataset.json'), JSON.stringify(TINY_DATASET_JSON));
  for (const fold of folds) {
    const arch = plans.configurations['3d_fullres'].architecture?.arch_kwargs as PlainConvUNetArchKwargs;
    const net = new PlainConvUNet(architectureFromPlans(arch, 1, 3)).initialize(new Generator(10 + fold));
    await mkdir(path.join(dir, `fold_${fold}`), { recursive: true });
    await savePth(path.join(dir, `fold_${fold}`, 'checkpoint_final.pth'), {
      network_weights: pyOrderedDict(Object.fromEntries(net.stateDict())),
      init_args: { configuration: '3d_fullres', fold },
      trainer_name: 'nnUNetTrainer',
      inference_allowed_mirroring_axes: pyTuple(0, 1, 2),
      current_epoch: 1,
    });
    net.dispose();
  }
}

/** An oblique, anisotropic voxel-to-world affine (rotation about z, spacings 0.8 / 1.2 / 2.5 mm, offset). */
export const OBLIQUE_AFFINE = (() => {
  const [c, s] = [Math.cos(0.3), Math.sin(0.3)];
  const sp = [0.8, 1.2, 2.5];
  return [
    [c * sp[0], -s * sp[1], 0, -40.5],
    [s * sp[0], c * sp[1], 0, 12.25],
    [0, 0, sp[2], 7],
    [0, 0, 0, 1],
  ];
})();

/**
 * Writes `<dir>/<id>_0000.nii.gz` of array shape [z, y, x], random values inside `box` ([start, end) per axis) and
 * zero outside, so the nonzero crop is the box.
 */
export async function writeCase(dir: string, id: string, shape: number[], box: number[][] | null, seed: number, affine = OBLIQUE_AFFINE): Promise<string> {
  await mkdir(dir, { recursive: true });
  const data = tidy(() => {
    const values = randn(shape, new Generator(seed)).add(5);
    if (!box) return values.toTypedArray() as Float32Array;
    const masked = values.mul(0);
    box.reduce((v, [a, b], axis) => v.slice(axis, a, b), masked).copy_(box.reduce((v, [a, b], axis) => v.slice(axis, a, b), values));
    return masked.toTypedArray() as Float32Array;
  });
  const file = path.join(dir, `${id}_0000.nii.gz`);
  await writeNifti(file, data, shape, createHeader({ shape, affine, dtype: 'float32' }));
  return file;
}

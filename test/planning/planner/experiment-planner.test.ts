import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  determineFullresTargetSpacing,
  determineNormalization,
  determineTranspose,
  normalizationSchemeFor,
  planExperiment,
  resolveSeparateZ,
  roundHalfEven,
  type PlannerDatasetJson,
} from '../../../src/planning/experiment-planner.js';
import { computeConvFeatureMapSize } from '../../../src/planning/network-topology.js';
import type { Configuration, DatasetFingerprint } from '../../../src/planning/plans-schema.js';

const someIntensities = { max: 1, mean: 0, median: 0, min: -1, percentile_00_5: -1, percentile_99_5: 1, std: 1 };

function fingerprintOf(
  spacings: number[][],
  shapes: number[][],
  channels: number,
  medianRelativeSize = 1,
): DatasetFingerprint {
  return {
    foreground_intensity_properties_per_channel: Object.fromEntries(
      Array.from({ length: channels }, (_, c) => [String(c), someIntensities]),
    ),
    median_relative_size_after_cropping: medianRelativeSize,
    shapes_after_crop: shapes,
    spacings,
  };
}

function datasetJson(channelNames: string[], numLabels: number, numTraining: number): PlannerDatasetJson {
  return {
    channel_names: Object.fromEntries(channelNames.map((c, i) => [String(i), c])),
    labels: Object.fromEntries(Array.from({ length: numLabels }, (_, i) => [i === 0 ? 'background' : `l${i}`, i])),
    numTraining,
    file_ending: '.nii.gz',
  };
}

const config = (c: unknown): Configuration => c as Configuration;

test('roundHalfEven is Python 3 round', () => {
  assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999, 2.5001, 7].map(roundHalfEven), [0, 2, 2, 0, -2, -2, 2, 3, 7]);
});

/*
 * Cross-checks against plans files written by nnU-Net itself (public repositories; the fingerprint inputs are
 * restated here, the expected values are copied from those plans):
 *  - timdehaan1/automatic-liver-segmentation-nnUnet (v2 with architecture/arch_kwargs): 77 IVIM MRI cases,
 *    all [27, 168, 256] at [7, 1.7578125, 1.7578125] (three z spacings off by < 1e-5), median relative size
 *    0.65625, labels background + liver.
 *  - NIH-MIP/FDG-PET-CT_AI (early v2 format, same planning rules): 813 PET + CT cases, median shape
 *    [326, 400, 400] at [3, 2.0364201068878174, 2.0364201068878174], labels background + lesion.
 */
test('anisotropic MRI: matches the plans nnU-Net wrote (kernel [1,3,3] first, in-plane-only strides, mask for norm)', () => {
  const spacings = Array.from({ length: 77 }, () => [7.0, 1.7578125, 1.7578125]);
  spacings[20][0] = 6.999996185302734;
  spacings[47][0] = 7.000007629394531;
  spacings[59][0] = 7.000003814697266;
  const fp = fingerprintOf(spacings, Array.from({ length: 77 }, () => [27, 168, 256]), 1, 0.65625);
  const plans = planExperiment(fp, datasetJson(['IVIM'], 2, 77), { datasetName: 'Dataset001_AAA' });
  assert.deepEqual(Object.keys(plans.configurations), ['2d', '3d_fullres']);
  assert.deepEqual(plans.original_median_spacing_after_transp, [7.0, 1.7578125, 1.7578125]);
  assert.deepEqual(plans.original_median_shape_after_transp, [27, 168, 256]);
  assert.deepEqual(plans.transpose_forward, [0, 1, 2]);

  const full = config(plans.configurations['3d_fullres']);
  assert.equal(full.batch_size, 3);
  assert.deepEqual(full.patch_size, [28, 192, 256]);
  assert.deepEqual(full.median_image_size_in_voxels, [27, 168, 256]);
  assert.deepEqual(full.spacing, [7.0, 1.7578125, 1.7578125]);
  assert.deepEqual(full.use_mask_for_norm, [true]);
  assert.equal(full.batch_dice, false);
  const k = full.architecture.arch_kwargs;
  assert.deepEqual(k.features_per_stage, [32, 64, 128, 256, 320, 320]);
  assert.deepEqual(k.kernel_sizes, [[1, 3, 3], [3, 3, 3], [3, 3, 3], [3, 3, 3], [3, 3, 3], [3, 3, 3]]);
  assert.deepEqual(k.strides, [[1, 1, 1], [1, 2, 2], [2, 2, 2], [2, 2, 2], [1, 2, 2], [1, 2, 2]]);
  assert.deepEqual(k.n_conv_per_stage_decoder, [2, 2, 2, 2, 2]);

  const flat = config(plans.configurations['2d']);
  assert.equal(flat.batch_size, 66);
  assert.deepEqual(flat.patch_size, [192, 256]);
  assert.deepEqual(flat.architecture.arch_kwargs.features_per_stage, [32, 64, 128, 256, 512, 512]);
  assert.equal(flat.architecture.arch_kwargs.conv_op, 'torch.nn.modules.conv.Conv2d');
  assert.equal(flat.batch_dice, true);
});

test('PET + CT: matches the plans nnU-Net wrote (ZScore + CT normalization, 3d_lowres and cascade)', () => {
  const n = 813;
  const fp = fingerprintOf(
    Array.from({ length: n }, () => [3.0, 2.0364201068878174, 2.0364201068878174]),
    Array.from({ length: n }, () => [326, 400, 400]),
    2,
  );
  const plans = planExperiment(fp, datasetJson(['PET', 'CT'], 2, n), { datasetName: 'Dataset102_PETCT' });
  assert.deepEqual(Object.keys(plans.configurations), ['2d', '3d_lowres', '3d_fullres', '3d_cascade_fullres']);
  for (const c of ['2d', '3d_lowres', '3d_fullres']) {
    assert.deepEqual(plans.configurations[c].normalization_schemes, ['ZScoreNormalization', 'CTNormalization']);
    assert.deepEqual(plans.configurations[c].use_mask_for_norm, [false, false]);
  }
  const flat = config(plans.configurations['2d']);
  assert.equal(flat.batch_size, 16);
  assert.deepEqual(flat.patch_size, [448, 448]);
  assert.equal(flat.architecture.arch_kwargs.n_stages, 7);
  const full = config(plans.configurations['3d_fullres']);
  assert.equal(full.batch_size, 2);
  assert.deepEqual(full.patch_size, [128, 128, 128]);
  assert.equal(full.architecture.arch_kwargs.n_stages, 6);
  assert.equal(full.batch_dice, true);
  const low = config(plans.configurations['3d_lowres']);
  assert.equal(low.batch_size, 2);
  assert.deepEqual(low.patch_size, [128, 128, 128]);
  assert.deepEqual(low.spacing, [5.58088371512849, 3.7883412705634814, 3.7883412705634814]);
  assert.deepEqual(low.median_image_size_in_voxels, [175, 215, 215]);
  assert.equal(low.data_identifier, 'nnUNetPlans_3d_lowres');
  assert.equal(low.batch_dice, false);
  assert.equal(low.next_stage, '3d_cascade_fullres');
  assert.deepEqual(plans.configurations['3d_cascade_fullres'], { inherits_from: '3d_fullres', previous_stage: '3d_lowres' });
});

test('anisotropic CT [3.0, 0.8, 0.8]: target spacing, topology, separate-z, 3d_lowres (derived by hand)', () => {
  // 10 cases of [60, 512, 512]; two have z spacing 2.5, eight 3.0.
  // Target spacing: median [3, 0.8, 0.8]; 3 > 3 * 0.8 and 60 * 3 < 512 -> anisotropic, so z gets the 10th
  // percentile of [2.5, 2.5, 3 x 8] = 2.5 (index 0.9 lies between the two 2.5s), which is >= 0.8: kept.
  // Shapes at 2.5 mm: round(3 / 2.5 * 60) = 72 (eight cases), 60 (two) -> median [72, 512, 512].
  const spacings = Array.from({ length: 10 }, (_, i) => [i < 2 ? 2.5 : 3.0, 0.8, 0.8]);
  const shapes = Array.from({ length: 10 }, () => [60, 512, 512]);
  const fp = fingerprintOf(spacings, shapes, 1);
  const dj = datasetJson(['ct'], 3, 10);
  assert.deepEqual(determineFullresTargetSpacing(fp), [2.5, 0.8, 0.8]);
  const plans = planExperiment(fp, dj, { datasetName: 'Dataset900_Aniso' });
  assert.deepEqual(plans.transpose_forward, [0, 1, 2]);
  assert.deepEqual(plans.original_median_spacing_after_transp, [3, 0.8, 0.8]);

  const full = config(plans.configurations['3d_fullres']);
  assert.deepEqual(full.spacing, [2.5, 0.8, 0.8]);
  assert.deepEqual(full.median_image_size_in_voxels, [72, 512, 512]);
  assert.deepEqual(full.normalization_schemes, ['CTNormalization']);
  // Start: 1/spacing scaled to a 256^3 volume = [120, 374, 374], clipped to the median -> [72, 374, 374], then
  // shrunk (largest patch/median ratio first) until the feature maps fit the 560e6 reference.
  // The topology of the resulting [32, 256, 224] is derived step by step in network-topology.test.ts.
  assert.deepEqual(full.patch_size, [32, 256, 224]);
  const k = full.architecture.arch_kwargs;
  assert.deepEqual(k.strides, [[1, 1, 1], [1, 2, 2], [2, 2, 2], [2, 2, 2], [2, 2, 2], [1, 2, 2]]);
  assert.deepEqual(k.kernel_sizes[0], [1, 3, 3]);
  assert.ok(k.kernel_sizes.slice(1).every((ks) => ks.every((v) => v === 3)));
  const estimate = computeConvFeatureMapSize(
    { ...k, n_conv_per_stage: k.n_conv_per_stage! },
    full.patch_size,
    3,
  );
  assert.ok(estimate <= 560e6, `patch fits the 8 GB reference (${estimate})`);
  assert.equal(full.batch_size, 2, 'a shrunk patch leaves the minimum batch size');

  // Fullres covers 32*256*224 / (72*512*512) = 9.7% < 25% of the median image -> 3d_lowres. Since
  // 2.5 / 0.8 > 2, only the in-plane spacing grows (x1.03 per step): 0.8 * 1.03^15 = 1.24637 is the first
  // step where the lowres patch covers >= 25%. Median shape round(0.8 / 1.24637 * 512) = 329; the fullres /
  // lowres voxel ratio (512 / 328.6)^2 = 2.4 >= 2, so the stage is kept.
  const low = config(plans.configurations['3d_lowres']);
  assert.equal(low.spacing[0], 2.5);
  assert.ok(Math.abs(low.spacing[1] - 0.8 * 1.03 ** 15) < 1e-12);
  assert.equal(low.spacing[2], low.spacing[1]);
  assert.deepEqual(low.median_image_size_in_voxels, [72, 329, 329]);
  const coverage = (c: Configuration) =>
    c.patch_size.reduce((a, b) => a * b, 1) /
    c.median_image_size_in_voxels.reduce((a, b) => a * b, 1);
  assert.ok(coverage(low) >= 0.25 && coverage(full) < 0.25);
  assert.equal(full.batch_dice, true);
  assert.equal(low.batch_dice, false);
  assert.equal(low.next_stage, '3d_cascade_fullres');
  assert.ok('3d_cascade_fullres' in plans.configurations);

  // Resampling kwargs leave separate-z to the per-case spacings (force_separate_z null, order_z 0).
  assert.deepEqual(full.resampling_fn_data_kwargs, { is_seg: false, order: 3, order_z: 0, force_separate_z: null });
  assert.deepEqual(full.resampling_fn_seg_kwargs, { is_seg: true, order: 1, order_z: 0, force_separate_z: null });
  assert.deepEqual(full.resampling_fn_probabilities_kwargs, { is_seg: false, order: 1, order_z: 0, force_separate_z: null });
  // 3 / 0.8 > 3: resample in-plane, then z with order_z, along axis 0 (the largest spacing).
  assert.deepEqual(resolveSeparateZ([3, 0.8, 0.8], full.spacing, null), { separateZ: true, axis: 0 });
  assert.deepEqual(resolveSeparateZ([1, 1, 1], [2.5, 0.8, 0.8], null), { separateZ: true, axis: 0 });
  assert.deepEqual(resolveSeparateZ([1, 1, 1], [1.5, 1, 1], null), { separateZ: false, axis: null });
  // two axes tie for the largest spacing: no single out-of-plane axis, so no separate z
  assert.deepEqual(resolveSeparateZ([0.24, 1.25, 1.25], [1, 1, 1], null), { separateZ: false, axis: null });
  assert.deepEqual(resolveSeparateZ([3, 0.8, 0.8], [1, 1, 1], false), { separateZ: false, axis: null });
  assert.deepEqual(resolveSeparateZ([0.8, 3, 0.8], [1, 1, 1], true), { separateZ: true, axis: 1 });

  // 2d: in-plane spacing and shape; 2048^2-area start clipped to [512, 512]; 512 features max.
  const flat = config(plans.configurations['2d']);
  assert.deepEqual(flat.spacing, [0.8, 0.8]);
  assert.deepEqual(flat.median_image_size_in_voxels, [512, 512]);
  assert.equal(Math.max(...flat.architecture.arch_kwargs.features_per_stage), 512);
});

test('the largest-spacing axis is transposed first', () => {
  // Same data with z stored last: transpose_forward [2, 0, 1] brings it first, backward undoes it.
  const spacings = Array.from({ length: 10 }, (_, i) => [0.8, 0.8, i < 2 ? 2.5 : 3.0]);
  const shapes = Array.from({ length: 10 }, () => [512, 512, 60]);
  const plans = planExperiment(fingerprintOf(spacings, shapes, 1), datasetJson(['CT'], 3, 10), { datasetName: 'D' });
  assert.deepEqual(plans.transpose_forward, [2, 0, 1]);
  assert.deepEqual(plans.transpose_backward, [1, 2, 0]);
  assert.deepEqual(plans.configurations['3d_fullres'].spacing, [2.5, 0.8, 0.8]);
  assert.deepEqual(plans.configurations['3d_fullres'].patch_size, [32, 256, 224]);
  assert.deepEqual(plans.original_median_shape_after_transp, [60, 512, 512]);
  assert.deepEqual(determineTranspose([1, 3, 1]), { transposeForward: [1, 0, 2], transposeBackward: [1, 0, 2] });
  assert.deepEqual(determineTranspose([1, 3, 1], true).transposeForward, [0, 1, 2]);
});

test('the anisotropic axis never gets finer than the other axes', () => {
  // z spacings [0.5, 0.5, 4 x 8]: median 4 (> 3 * 0.8) with 20 * 3 < 200 voxels -> anisotropic; the 10th
  // percentile 0.5 is below 0.8, so z becomes max(0.8, 0.5) + 1e-5.
  const spacings = Array.from({ length: 10 }, (_, i) => [i < 2 ? 0.5 : 4, 0.8, 0.8]);
  const shapes = Array.from({ length: 10 }, () => [20, 200, 200]);
  assert.deepEqual(determineFullresTargetSpacing({ spacings, shapes_after_crop: shapes }), [0.80001, 0.8, 0.8]);
  // Not anisotropic in voxels (z has 100 > 200 / 3 voxels): plain median.
  const thick = Array.from({ length: 10 }, () => [100, 200, 200]);
  assert.deepEqual(determineFullresTargetSpacing({ spacings, shapes_after_crop: thick }), [4, 0.8, 0.8]);
  assert.deepEqual(determineFullresTargetSpacing({ spacings, shapes_after_crop: thick }, [1, 2, 3]), [1, 2, 3]);
});

test('2D data (one slice) gets only a 2d configuration', () => {
  // nnU-Net's 2D readers report shape [1, y, x] with spacing 999 on the dummy axis.
  const fp = fingerprintOf(
    Array.from({ length: 20 }, () => [999, 1, 1]),
    Array.from({ length: 20 }, () => [1, 256, 256]),
    3,
  );
  const plans = planExperiment(fp, datasetJson(['R', 'G', 'B'], 2, 20), { datasetName: 'D', plansName: 'MyPlans' });
  assert.deepEqual(Object.keys(plans.configurations), ['2d']);
  const flat = config(plans.configurations['2d']);
  assert.equal(flat.data_identifier, 'MyPlans_2d');
  assert.equal(plans.plans_name, 'MyPlans');
  assert.deepEqual(flat.patch_size, [256, 256]);
  assert.equal(flat.batch_dice, true);
});

test('normalization follows the channel names, case-insensitively; mask only for ZScore after strong cropping', () => {
  const names = ['CT', 'ct', 'Ct', 'T2', 'MRI', 'zscore', 'noNorm', 'NONORM', 'rescale_to_0_1', 'RGB_to_0_1'];
  assert.deepEqual(names.map(normalizationSchemeFor), [
    'CTNormalization',
    'CTNormalization',
    'CTNormalization',
    'ZScoreNormalization',
    'ZScoreNormalization',
    'ZScoreNormalization',
    'NoNormalization',
    'NoNormalization',
    'RescaleTo01Normalization',
    'RGBTo01Normalization',
  ]);
  const channels = { channel_names: { '0': 'CT', '1': 'T1', '2': 'noNorm' } };
  assert.deepEqual(determineNormalization(channels, 0.74).useMaskForNorm, [false, true, false]);
  assert.deepEqual(determineNormalization(channels, 0.75).useMaskForNorm, [false, false, false]);
  assert.deepEqual(determineNormalization({ ...channels, use_mask_for_norm: true }, 1).useMaskForNorm, [false, true, false]);
});

test('plans carry the fixed architecture fields and the fingerprint intensities', () => {
  const fp = fingerprintOf(Array.from({ length: 4 }, () => [1, 1, 1]), Array.from({ length: 4 }, () => [64, 64, 64]), 1);
  const plans = planExperiment(fp, datasetJson(['CT'], 2, 4), { datasetName: 'D', gpuMemoryTargetGB: 8 });
  const arch = config(plans.configurations['3d_fullres']).architecture;
  assert.equal(arch.network_class_name, 'dynamic_network_architectures.architectures.unet.PlainConvUNet');
  assert.deepEqual(arch._kw_requires_import, ['conv_op', 'norm_op', 'dropout_op', 'nonlin']);
  assert.equal(arch.arch_kwargs.conv_op, 'torch.nn.modules.conv.Conv3d');
  assert.equal(arch.arch_kwargs.norm_op, 'torch.nn.modules.instancenorm.InstanceNorm3d');
  assert.deepEqual(arch.arch_kwargs.norm_op_kwargs, { eps: 1e-5, affine: true });
  assert.equal(arch.arch_kwargs.nonlin, 'torch.nn.LeakyReLU');
  assert.deepEqual(arch.arch_kwargs.nonlin_kwargs, { inplace: true });
  assert.equal(arch.arch_kwargs.dropout_op, null);
  assert.equal(arch.arch_kwargs.conv_bias, true);
  assert.equal(plans.image_reader_writer, 'SimpleITKIO');
  assert.equal(plans.experiment_planner_used, 'ExperimentPlanner');
  assert.equal(plans.label_manager, 'LabelManager');
  assert.deepEqual(plans.foreground_intensity_properties_per_channel, fp.foreground_intensity_properties_per_channel);
  // The 5% rule: 4 cases of 64^3 at patch 64^3 -> round(4 * 0.05) = 0 -> floor of 2.
  assert.equal(plans.configurations['3d_fullres'].batch_size, 2);
  // A bigger GPU target lets the patch grow and keeps more than the minimum where the 5% rule allows.
  const big = planExperiment(
    fingerprintOf(Array.from({ length: 400 }, () => [1, 1, 1]), Array.from({ length: 400 }, () => [64, 64, 64]), 1),
    datasetJson(['CT'], 2, 400),
    { datasetName: 'D', gpuMemoryTargetGB: 80 },
  );
  assert.ok(big.configurations['3d_fullres'].batch_size! > 2);
});

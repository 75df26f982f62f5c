/**
 * nnU-Net's ResEnc planners (ResEncUNetPlanner, nnUNetPlannerResEnc{M,L,XL}) against values derived by hand from
 * upstream v2.8.1. "R:n" = `residual_unets/residual_encoder_unet_planners.py` line n, "D:n" =
 * `default_experiment_planner.py` line n. Feature maps follow DNA's ResidualEncoderUNet (stem + BasicBlockD stages,
 * UNetDecoder); for the 6-stage 3D nets here (features 32..320, blocks 1,3,4,6,6,6, one decoder conv, 3 classes, no
 * deep supervision) they sum to 163·V0 + 576·V1 + 1408·V2 + 3840·V3 + 4800·V4 + 4160·V5, Vs = voxels after stage
 * s's stride (V0: stem 32 + block 2·32 + decoder conv 32 + transposed conv 32 + seg 3; V1: (2·3 + skip)·64 + 2·64;
 * ...; bottleneck: (2·6 + skip)·320, its skip counted though it is only a pool). A 7th stage adds 4800·V5 + 4160·V6
 * in place of 4160·V5.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { UserError } from '../../../src/errors.js';
import { loadDatasetJson } from '../../../src/planning/dataset-json.js';
import { getPlanner, listPlanners, planExperiment, type PlannerDatasetJson } from '../../../src/planning/experiment-planner.js';
import { extractFingerprint } from '../../../src/planning/fingerprint.js';
import { computeResEncConvFeatureMapSize } from '../../../src/planning/network-topology.js';
import { parsePlans, type Configuration, type DatasetFingerprint, type Plans } from '../../../src/planning/plans-schema.js';
import { listTrainingCases } from '../../../src/planning/raw-dataset.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const hippocampus = path.resolve(repoRoot, '../shared/data/Dataset004_Hippocampus');
const RESENC = 'dynamic_network_architectures.architectures.unet.ResidualEncoderUNet';
const PRESETS = ['nnUNetPlannerResEncM', 'nnUNetPlannerResEncL', 'nnUNetPlannerResEncXL'] as const;

const cfg = (plans: Plans, name: string): Configuration => plans.configurations[name] as Configuration;
const kwargs = (plans: Plans, name: string) => cfg(plans, name).architecture.arch_kwargs;
const stride3d = (n: number, first: number[][]) => [...first, ...new Array<number[]>(n - first.length).fill([2, 2, 2])];

test('ResidualEncoderUNet feature maps equal the values upstream prints (R:298-313)', () => {
  // R:304: 6 stages, 128^3, 3 classes, deep supervision on -> 558319104
  const k3 = { features_per_stage: [32, 64, 128, 256, 320, 320], strides: stride3d(6, [[1, 1, 1]]), n_blocks_per_stage: [1, 3, 4, 6, 6, 6], n_conv_per_stage_decoder: [1, 1, 1, 1, 1] };
  assert.equal(computeResEncConvFeatureMapSize(k3, [128, 128, 128], 3, true), 558_319_104);
  // R:313: 7 stages 2D, 512^2 -> 129793792
  const k2 = {
    features_per_stage: [32, 64, 128, 256, 512, 512, 512],
    strides: [[1, 1], ...new Array<number[]>(6).fill([2, 2])],
    n_blocks_per_stage: [1, 3, 4, 6, 6, 6, 6],
    n_conv_per_stage_decoder: [1, 1, 1, 1, 1, 1],
  };
  assert.equal(computeResEncConvFeatureMapSize(k2, [512, 512], 3, true), 129_793_792);
  // without deep supervision (how the planner builds it, D:106-108) the seg heads of 64^3..8^3 drop out
  assert.equal(computeResEncConvFeatureMapSize(k3, [128, 128, 128], 3), 558_319_104 - 3 * (64 ** 3 + 32 ** 3 + 16 ** 3 + 8 ** 3));
});

test('the registry: upstream class names, defaults per preset, one error naming the known planners', () => {
  assert.deepEqual(
    listPlanners().map((p) => p.name),
    ['ExperimentPlanner', 'ResEncUNetPlanner', 'nnUNetPlannerResEncM', 'nnUNetPlannerResEncL', 'nnUNetPlannerResEncXL'],
  );
  assert.equal(getPlanner().name, 'ExperimentPlanner');
  // plans names R:19, 226, 252, 277; GPU targets R:18, 225, 251, 276; max_dataset_covered R:243, 268, 293 (base: D:66)
  const rows = ['ResEncUNetPlanner', ...PRESETS].map((n) => {
    const p = getPlanner(n);
    return [p.plansName, p.gpuMemoryTargetGB, p.referenceCorrespGB, p.referenceVal3d, p.referenceVal2d, p.maxDatasetCovered];
  });
  assert.deepEqual(rows, [
    ['nnUNetResEncUNetPlans', 8, 8, 680e6, 135e6, 0.05],
    ['nnUNetResEncUNetMPlans', 8, 8, 680e6, 135e6, 1],
    ['nnUNetResEncUNetLPlans', 24, 24, 2.1e9, 380e6, 1],
    ['nnUNetResEncUNetXLPlans', 40, 40, 3.6e9, 560e6, 1],
  ]);
  assert.throws(
    () => getPlanner('nnUNetPlannerResEncXXL'),
    (e: unknown) =>
      e instanceof UserError &&
      e.message === "unknown planner 'nnUNetPlannerResEncXXL'; known planners: ExperimentPlanner, ResEncUNetPlanner, nnUNetPlannerResEncM, nnUNetPlannerResEncL, nnUNetPlannerResEncXL",
  );
});

let cached: Promise<DatasetFingerprint> | undefined;
function hippocampusFingerprint(): Promise<DatasetFingerprint> {
  cached ??= (async () => {
    const json = await loadDatasetJson(path.join(hippocampus, 'dataset.json'));
    return extractFingerprint(await listTrainingCases(hippocampus, json), { foregroundSampleBudget: 1e6 });
  })();
  return cached;
}

test('Dataset004 with ResEnc M/L/XL: plans derived by hand', async (t) => {
  if (!existsSync(hippocampus)) return t.skip(`${hippocampus} not found`);
  const json = await loadDatasetJson(path.join(hippocampus, 'dataset.json'));
  const fp = await hippocampusFingerprint();
  // Target spacing [1,1,1], median shape [36,50,35] (hippocampus.test.ts); 210 cases -> 36*50*35*210 = 13,230,000
  // voxels (D:432-433). 3d: 256^3 clipped to [36,50,35], 3 pools per axis -> patch [40,56,40], 4 stages (same as
  // the default planner: the topology does not depend on the network). V = 89600, 11200, 1400, 175:
  //   encoder: stem 32·V0 + 2·32·V0 + 7·64·V1 + 9·128·V2 + 13·256·V3 = 15,814,400
  //   decoder: 2·128·V2 + 2·64·V1 + 2·32·V0 + 3·V0 = 7,795,200 -> 23,609,600 < every reference: no shrinking.
  // Batch R:186 round(ref / 23,609,600 · 2): M 680e6 -> 57.6 -> 58; L 2.1e9 -> 177.9 -> 178; XL 3.6e9 -> 305.
  // Cap R:190-192 with max_dataset_covered 1: round(13,230,000 / 89,600) = round(147.66) = 148.
  // 2d: patch [56,40], V = 2240, 560, 140, 35: encoder 743,680 + decoder 257,600 = 1,001,280; batch
  // round(ref / 1,001,280 · 12): M 135e6 -> 1617.9 -> 1618; L 380e6 -> 4554.2 -> 4554; XL 560e6 -> 6711.4,
  // capped at round(13,230,000 / 2240) = 5906.
  const expected = {
    nnUNetPlannerResEncM: { full: 58, flat: 1618 },
    nnUNetPlannerResEncL: { full: 148, flat: 4554 },
    nnUNetPlannerResEncXL: { full: 148, flat: 5906 },
  };
  for (const name of PRESETS) {
    const plans = planExperiment(fp, json, { datasetName: 'Dataset004_Hippocampus', planner: name });
    parsePlans(JSON.parse(JSON.stringify(plans)), `${name} plans`);
    const size = name.slice('nnUNetPlannerResEnc'.length);
    assert.equal(plans.plans_name, `nnUNetResEncUNet${size}Plans`);
    assert.equal(plans.experiment_planner_used, name); // D:515 self.__class__.__name__
    assert.deepEqual(Object.keys(plans.configurations), ['2d', '3d_fullres']);
    const full = cfg(plans, '3d_fullres');
    assert.deepEqual(full.patch_size, [40, 56, 40], name);
    assert.equal(full.batch_size, expected[name].full, `${name} 3d_fullres batch`);
    assert.equal(full.data_identifier, 'nnUNetPlans_3d_fullres'); // R:38-40
    assert.equal(full.architecture.network_class_name, RESENC);
    const k = full.architecture.arch_kwargs;
    assert.deepEqual(k.features_per_stage, [32, 64, 128, 256]);
    assert.deepEqual(k.strides, stride3d(4, [[1, 1, 1]]));
    assert.deepEqual(k.kernel_sizes, new Array(4).fill([3, 3, 3]));
    assert.deepEqual(k.n_blocks_per_stage, [1, 3, 4, 6]); // R:29 sliced to 4 stages (R:103)
    assert.deepEqual(k.n_conv_per_stage_decoder, [1, 1, 1]); // R:30 sliced (R:104)
    assert.equal(k.n_conv_per_stage, undefined);
    const flat = cfg(plans, '2d');
    assert.deepEqual(flat.patch_size, [56, 40]);
    assert.equal(flat.batch_size, expected[name].flat, `${name} 2d batch`);
    assert.equal(flat.data_identifier, 'nnUNetPlans_2d');
    assert.deepEqual(flat.architecture.arch_kwargs.n_blocks_per_stage, [1, 3, 4, 6]);
  }
  // The base ResEncUNetPlanner keeps the 5% cap (D:66): 3d round(661,500 / 89,600) = 7, 2d round(295.3) = 295.
  const base = planExperiment(fp, json, { datasetName: 'Dataset004_Hippocampus', planner: 'ResEncUNetPlanner' });
  assert.equal(base.plans_name, 'nnUNetResEncUNetPlans');
  assert.equal(cfg(base, '3d_fullres').batch_size, 7);
  assert.equal(cfg(base, '2d').batch_size, 295);
});

const someIntensities = { max: 1, mean: 0, median: 0, min: -1, percentile_00_5: -1, percentile_99_5: 1, std: 1 };

/** 10 CT-like cases of 300 x 512 x 512 voxels at 2.5 x 0.8 x 0.8 mm ([z, y, x]), labels background + 2. */
function ctDataset(): { fp: DatasetFingerprint; json: PlannerDatasetJson } {
  const n = 10;
  return {
    fp: {
      foreground_intensity_properties_per_channel: { '0': someIntensities },
      median_relative_size_after_cropping: 1,
      shapes_after_crop: Array.from({ length: n }, () => [300, 512, 512]),
      spacings: Array.from({ length: n }, () => [2.5, 0.8, 0.8]),
    },
    json: { channel_names: { '0': 'CT' }, labels: { background: 0, liver: 1, tumor: 2 }, numTraining: n, file_ending: '.nii.gz' },
  };
}

test('CT-like 512x512x300 at 0.8x0.8x2.5 mm with ResEnc M: 3d_fullres shrinks, 3d_lowres and the cascade appear', () => {
  const { fp, json } = ctDataset();
  const plans = planExperiment(fp, json, { datasetName: 'Dataset900_CT', planner: 'nnUNetPlannerResEncM' });
  // D:155-196: median [2.5, 0.8, 0.8]; 2.5 > 3 · 0.8 but 300 · 3 >= 512 voxels: not anisotropic, median kept.
  // D:215-226: largest spacing already first -> transpose [0, 1, 2]. 78,643,200 voxels per image, 10 cases.
  assert.deepEqual(plans.transpose_forward, [0, 1, 2]);
  assert.deepEqual(Object.keys(plans.configurations), ['2d', '3d_lowres', '3d_fullres', '3d_cascade_fullres']);

  // 3d_fullres. Initial patch (R:67-84): 1/spacing scaled to 256^3 = [119.77, 374.27, 374.27] -> [120, 374, 374]
  // (below the median). Topology: x,y pool alone first (2.5 / 0.8 > 2), then all axes; 120 pools 5 times, 374
  // 6 times -> padded to [128, 384, 384], 7 stages. Shrink while estimate > 680e6 (R:134), each time the axis
  // with the largest patch / median ratio (ties: the last, R:138), by its recomputed divisor (R:146-153):
  //   [128,384,320] [128,320,320] [128,320,256] [128,256,256] [128,256,224] (7 stages, estimates > 2.7e9),
  //   [128,224,224] (6 stages from here) [128,224,192] [128,192,192] [112,192,192] [112,192,160]
  //   [112,160,160] [96,160,160] [80,160,160] (754,888,000) -> [80,160,128]: V0..V5 = 1,638,400, 409,600,
  //   51,200, 6,400, 800, 100 -> 267,059,200 + 235,929,600 + 72,089,600 + 24,576,000 + 3,840,000 + 416,000
  //   = 603,910,400 <= 680e6. Batch round(680e6 / 603,910,400 · 2) = round(2.25) = 2 (cap: 480).
  const full = cfg(plans, '3d_fullres');
  assert.deepEqual(full.patch_size, [80, 160, 128]);
  assert.equal(full.batch_size, 2);
  assert.deepEqual(full.spacing, [2.5, 0.8, 0.8]);
  assert.deepEqual(full.median_image_size_in_voxels, [300, 512, 512]);
  assert.equal(full.data_identifier, 'nnUNetPlans_3d_fullres');
  assert.equal(full.batch_dice, true); // D:476-479: a lowres stage exists
  const k = kwargs(plans, '3d_fullres');
  assert.equal(k.n_stages, 6);
  assert.deepEqual(k.features_per_stage, [32, 64, 128, 256, 320, 320]);
  assert.deepEqual(k.strides, stride3d(6, [[1, 1, 1], [1, 2, 2]]));
  assert.deepEqual(k.kernel_sizes, [[1, 3, 3], ...new Array(5).fill([3, 3, 3])]);
  assert.deepEqual(k.n_blocks_per_stage, [1, 3, 4, 6, 6, 6]);
  assert.deepEqual(k.n_conv_per_stage_decoder, [1, 1, 1, 1, 1]);
  assert.equal(computeResEncConvFeatureMapSize({ ...k, n_blocks_per_stage: [1, 3, 4, 6, 6, 6] }, full.patch_size, 3), 603_910_400);

  // 3d_lowres (D:441-475): fullres covers 1,638,400 / 78,643,200 = 2.1% < 25%. In-plane spacing grows 3% per step
  // while 2.5 / s > 2 (16 steps: 0.8 · 1.03^16 = 1.2838), then all axes; after 31 steps spacing
  // [2.5 · 1.03^15, 0.8 · 1.03^31, same] = [3.8949, 2.00006, 2.00006], median [192.56, 204.79, 204.79] -> rounded
  // [193, 205, 205], patch [128, 128, 128]: 2,097,152 / 8,075,973 = 26.0% >= 25%, stop. Estimate: R:304's
  // 558,319,104 less the deep-supervision heads 3 · (64^3 + 32^3 + 16^3 + 8^3) = 557,420,544 -> batch
  // round(2.44) = 2. Fullres / lowres voxels 9.74 >= 2: kept. Its data is the plans' own (R:41-42).
  const low = cfg(plans, '3d_lowres');
  assert.ok(Math.abs(low.spacing[0] - 2.5 * 1.03 ** 15) < 1e-9 && Math.abs(low.spacing[1] - 0.8 * 1.03 ** 31) < 1e-9);
  assert.equal(low.spacing[1], low.spacing[2]);
  assert.deepEqual(low.median_image_size_in_voxels, [193, 205, 205]);
  assert.deepEqual(low.patch_size, [128, 128, 128]);
  assert.equal(low.batch_size, 2);
  assert.equal(low.data_identifier, 'nnUNetResEncUNetMPlans_3d_lowres');
  assert.equal(low.batch_dice, false);
  assert.equal(low.next_stage, '3d_cascade_fullres');
  assert.deepEqual(kwargs(plans, '3d_lowres').strides, stride3d(6, [[1, 1, 1]]));
  assert.deepEqual(plans.configurations['3d_cascade_fullres'], { inherits_from: '3d_fullres', previous_stage: '3d_lowres' });

  // 2d (D:486-490): [512, 512] at 0.8 mm, 7 pools -> 8 stages (features up to 512, blocks 1,3,4,6,6,6,6,6).
  // V = 262144 ... 16: encoder 96,083,968 + decoder 33,619,968 = 129,703,936 <= 135e6, no shrinking; batch
  // round(135e6 / 129,703,936 · 12) = round(12.49) = 12 (cap 3000).
  const flat = cfg(plans, '2d');
  assert.deepEqual(flat.patch_size, [512, 512]);
  assert.equal(flat.batch_size, 12);
  assert.equal(flat.data_identifier, 'nnUNetPlans_2d');
  assert.deepEqual(kwargs(plans, '2d').features_per_stage, [32, 64, 128, 256, 512, 512, 512, 512]);
  assert.deepEqual(kwargs(plans, '2d').n_blocks_per_stage, [1, 3, 4, 6, 6, 6, 6, 6]);
  assert.deepEqual(kwargs(plans, '2d').n_conv_per_stage_decoder, new Array(7).fill(1));
});

test('CT-like dataset with ResEnc L and XL: larger patches for larger GPU targets (derived by hand)', () => {
  const { fp, json } = ctDataset();
  const L = planExperiment(fp, json, { datasetName: 'Dataset900_CT', planner: 'nnUNetPlannerResEncL' });
  const XL = planExperiment(fp, json, { datasetName: 'Dataset900_CT', planner: 'nnUNetPlannerResEncXL' });
  // L: the shrink sequence of the M test stops at [128,224,192] (6 stages; V0..V5 = 5,505,024, 1,376,256,
  // 172,032, 21,504, 2,688, 336): 897,318,912 + 792,723,456 + 242,221,056 + 82,575,360 + 12,902,400 + 1,397,760
  // = 2,029,138,944 <= 2.1e9 (the step before, [128,224,224], is 2,367,328,768). Batch round(2.07) = 2.
  assert.deepEqual(cfg(L, '3d_fullres').patch_size, [128, 224, 192]);
  assert.equal(cfg(L, '3d_fullres').batch_size, 2);
  assert.deepEqual(kwargs(L, '3d_fullres').strides, stride3d(6, [[1, 1, 1], [1, 2, 2]]));
  // XL stops at [128,256,256], 7 stages (z pools 5x, x/y 6x; V0..V6 = 8,388,608, 2,097,152, 64^3 .. 4^3):
  // 1,367,343,104 + 1,207,959,552 + 369,098,752 + 125,829,120 + 19,660,800 + 4800·512 + 4160·64
  // = 3,092,615,168 <= 3.6e9 ([128,320,256] before it: 3,865,768,960). Batch round(2.33) = 2.
  assert.deepEqual(cfg(XL, '3d_fullres').patch_size, [128, 256, 256]);
  assert.equal(cfg(XL, '3d_fullres').batch_size, 2);
  assert.deepEqual(kwargs(XL, '3d_fullres').strides, stride3d(7, [[1, 1, 1], [1, 2, 2]]));
  assert.deepEqual(kwargs(XL, '3d_fullres').n_blocks_per_stage, [1, 3, 4, 6, 6, 6, 6]);
  assert.deepEqual(kwargs(XL, '3d_fullres').features_per_stage, [32, 64, 128, 256, 320, 320, 320]);

  // 3d_lowres: L after 17 steps (16 in-plane, 1 on all axes): [2.575, 0.8 · 1.03^17 = 1.32228, same], median
  // [291.26, 309.77, 309.77] -> [291, 310, 310], patch [192,192,192] covers 25.3%; XL after 13 in-plane steps:
  // [2.5, 1.17483, 1.17483], median [300, 348.65, 348.65] -> [300, 349, 349], patch [160, 256, 224] covers
  // 25.2%, fullres / lowres = 2.16 >= 2 so it is kept. Estimate of the XL one (last stride [2,2,1], V6 = 5·4·7):
  // 3,382,839,040 <= 3.6e9, batch round(2.13) = 2.
  const lowL = cfg(L, '3d_lowres');
  assert.ok(Math.abs(lowL.spacing[0] - 2.575) < 1e-12 && Math.abs(lowL.spacing[1] - 0.8 * 1.03 ** 17) < 1e-9);
  assert.deepEqual(lowL.median_image_size_in_voxels, [291, 310, 310]);
  assert.deepEqual(lowL.patch_size, [192, 192, 192]);
  assert.equal(lowL.batch_size, 2);
  assert.equal(lowL.data_identifier, 'nnUNetResEncUNetLPlans_3d_lowres');
  const lowXL = cfg(XL, '3d_lowres');
  assert.equal(lowXL.spacing[0], 2.5);
  assert.ok(Math.abs(lowXL.spacing[1] - 0.8 * 1.03 ** 13) < 1e-9);
  assert.deepEqual(lowXL.median_image_size_in_voxels, [300, 349, 349]);
  assert.deepEqual(lowXL.patch_size, [160, 256, 224]);
  assert.deepEqual(kwargs(XL, '3d_lowres').strides, [[1, 1, 1], [1, 2, 2], ...new Array(4).fill([2, 2, 2]), [2, 2, 1]]);
  assert.equal(computeResEncConvFeatureMapSize({ ...kwargs(XL, '3d_lowres'), n_blocks_per_stage: [1, 3, 4, 6, 6, 6, 6] }, lowXL.patch_size, 3), 3_382_839_040);
  assert.equal(lowXL.batch_size, 2);

  // 2d: the same 129,703,936 estimate; batch round(ref / 129,703,936 · 12): L 380e6 -> 35.16 -> 35; XL 560e6 -> 52.
  assert.equal(cfg(L, '2d').batch_size, 35);
  assert.equal(cfg(XL, '2d').batch_size, 52);
  for (const p of [L, XL]) {
    assert.equal(cfg(p, '3d_fullres').data_identifier, 'nnUNetPlans_3d_fullres');
    assert.equal(cfg(p, '2d').data_identifier, 'nnUNetPlans_2d');
  }
});

test('ResEnc plans keep upstream key order and architecture fields; 2d/3d_fullres data ignore the plans name', () => {
  const { fp, json } = ctDataset();
  const plans = planExperiment(fp, json, { datasetName: 'Dataset900_CT', planner: 'nnUNetPlannerResEncM', plansName: 'MyResEnc' });
  assert.equal(plans.plans_name, 'MyResEnc');
  // R:38-42: only 3d_lowres follows the plans name
  assert.equal(cfg(plans, '3d_fullres').data_identifier, 'nnUNetPlans_3d_fullres');
  assert.equal(cfg(plans, '2d').data_identifier, 'nnUNetPlans_2d');
  assert.equal(cfg(plans, '3d_lowres').data_identifier, 'MyResEnc_3d_lowres');
  // R:200-216, then batch_dice (D:476-490) and, for lowres, next_stage (D:524)
  const configKeys = ['data_identifier', 'preprocessor_name', 'batch_size', 'patch_size', 'median_image_size_in_voxels', 'spacing', 'normalization_schemes', 'use_mask_for_norm', 'resampling_fn_data', 'resampling_fn_seg', 'resampling_fn_data_kwargs', 'resampling_fn_seg_kwargs', 'resampling_fn_probabilities', 'resampling_fn_probabilities_kwargs', 'architecture', 'batch_dice'];
  assert.deepEqual(Object.keys(cfg(plans, '3d_fullres')), configKeys);
  assert.deepEqual(Object.keys(cfg(plans, '3d_lowres')), [...configKeys, 'next_stage']);
  const arch = cfg(plans, '3d_fullres').architecture;
  // R:95-114
  assert.deepEqual(Object.keys(arch), ['network_class_name', 'arch_kwargs', '_kw_requires_import']);
  assert.deepEqual(Object.keys(arch.arch_kwargs), ['n_stages', 'features_per_stage', 'conv_op', 'kernel_sizes', 'strides', 'n_blocks_per_stage', 'n_conv_per_stage_decoder', 'conv_bias', 'norm_op', 'norm_op_kwargs', 'dropout_op', 'dropout_op_kwargs', 'nonlin', 'nonlin_kwargs']);
  assert.equal(arch.network_class_name, RESENC);
  assert.deepEqual(arch._kw_requires_import, ['conv_op', 'norm_op', 'dropout_op', 'nonlin']);
  assert.equal(arch.arch_kwargs.conv_op, 'torch.nn.modules.conv.Conv3d');
  assert.equal(arch.arch_kwargs.norm_op, 'torch.nn.modules.instancenorm.InstanceNorm3d');
  assert.deepEqual(arch.arch_kwargs.norm_op_kwargs, { eps: 1e-5, affine: true });
  assert.equal(arch.arch_kwargs.conv_bias, true);
  assert.equal(arch.arch_kwargs.dropout_op, null);
  assert.equal(arch.arch_kwargs.nonlin, 'torch.nn.LeakyReLU');
  assert.deepEqual(arch.arch_kwargs.nonlin_kwargs, { inplace: true });
  // the plain planner keeps n_conv_per_stage in the same slot
  const plain = planExperiment(fp, json, { datasetName: 'Dataset900_CT' });
  assert.deepEqual(Object.keys(cfg(plain, '3d_fullres').architecture.arch_kwargs)[5], 'n_conv_per_stage');
  assert.deepEqual(Object.keys(plans), Object.keys(plain));
});

test('a preset run off its GPU target warns, as upstream, and plans for the target given', async () => {
  const { fp, json } = ctDataset();
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarning);
  try {
    const plans = planExperiment(fp, json, { datasetName: 'D', planner: 'nnUNetPlannerResEncL', gpuMemoryTargetGB: 40 });
    // reference 2.1e9 · 40 / 24 = 3.5e9: the XL sequence's [128,256,256] (3,092,615,168) fits
    assert.deepEqual(cfg(plans, '3d_fullres').patch_size, [128, 256, 256]);
    planExperiment(fp, json, { datasetName: 'D', planner: 'ResEncUNetPlanner', gpuMemoryTargetGB: 40 });
    await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
  } finally {
    process.off('warning', onWarning);
  }
  // R:255-258 (the base planner has no such check)
  assert.deepEqual(warnings, ['nnUNetPlannerResEncL is calibrated for 24 GB of GPU memory; planning for 40 GB as asked']);
});

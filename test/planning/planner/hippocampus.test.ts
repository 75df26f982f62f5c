/**
 * Dataset004_Hippocampus end to end: fingerprint from the real NIfTI files (readNifti), then plans.
 * The expected values are nnU-Net's documented Hippocampus plans (documentation/explanation_plans_files.md,
 * benchmarking.md). The batch sizes there (3d 9, 2d 366) come from the full MSD set of 260 training cases:
 * the 5% rule caps the batch at round(numTraining * 36*50*35 * 0.05 / patch voxels). This folder holds 210 of
 * them (numTraining 210), for which nnU-Net gives 3d round(7.38) = 7 and 2d round(295.3) = 295.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadDatasetJson } from '../../../src/planning/dataset-json.js';
import { planExperiment } from '../../../src/planning/experiment-planner.js';
import { extractFingerprint } from '../../../src/planning/fingerprint.js';
import { parsePlans, resolveConfiguration, type DatasetFingerprint } from '../../../src/planning/plans-schema.js';
import { listTrainingCases } from '../../../src/planning/raw-dataset.js';
import { referenceUnavailable, runReference } from './python-reference.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const datasetDir = path.resolve(repoRoot, '../shared/data/Dataset004_Hippocampus');

let cached: Promise<DatasetFingerprint> | undefined;
/** Fingerprint of the real data; a 1e6 sample budget keeps it fast (the statistics are not asserted exactly). */
function fingerprint(): Promise<DatasetFingerprint> {
  cached ??= (async () => {
    const json = await loadDatasetJson(path.join(datasetDir, 'dataset.json'));
    const cases = await listTrainingCases(datasetDir, json);
    return extractFingerprint(cases, { foregroundSampleBudget: 1e6 });
  })();
  return cached;
}

test('Dataset004 plans: 3d_fullres and 2d as nnU-Net plans them, no 3d_lowres', async (t) => {
  if (!existsSync(datasetDir)) return t.skip(`${datasetDir} not found`);
  const json = await loadDatasetJson(path.join(datasetDir, 'dataset.json'));
  const fp = await fingerprint();
  assert.equal(fp.spacings.length, 210);
  const plans = planExperiment(fp, json, { datasetName: 'Dataset004_Hippocampus' });
  parsePlans(JSON.parse(JSON.stringify(plans)), 'planned Dataset004 plans');

  assert.deepEqual(Object.keys(plans.configurations), ['2d', '3d_fullres']);
  assert.deepEqual(plans.transpose_forward, [0, 1, 2]);
  assert.equal(plans.image_reader_writer, 'SimpleITKIO');

  const full = resolveConfiguration(plans, '3d_fullres');
  assert.deepEqual(full.patch_size, [40, 56, 40]);
  assert.deepEqual(full.spacing, [1, 1, 1]);
  assert.deepEqual(full.median_image_size_in_voxels, [36, 50, 35]);
  assert.equal(full.architecture.arch_kwargs.n_stages, 4);
  assert.deepEqual(full.architecture.arch_kwargs.features_per_stage, [32, 64, 128, 256]);
  assert.deepEqual(full.architecture.arch_kwargs.strides, [[1, 1, 1], [2, 2, 2], [2, 2, 2], [2, 2, 2]]);
  assert.deepEqual(full.architecture.arch_kwargs.kernel_sizes, new Array(4).fill([3, 3, 3]));
  assert.deepEqual(full.normalization_schemes, ['ZScoreNormalization']);
  assert.deepEqual(full.use_mask_for_norm, [false]);
  assert.equal(full.batch_dice, false);
  assert.equal(full.data_identifier, 'nnUNetPlans_3d_fullres');
  assert.equal(full.batch_size, 7);

  const flat = resolveConfiguration(plans, '2d');
  assert.deepEqual(flat.patch_size, [56, 40]);
  assert.deepEqual(flat.architecture.arch_kwargs.features_per_stage, [32, 64, 128, 256]);
  assert.equal(flat.batch_size, 295);
  assert.equal(flat.batch_dice, true);

  // With the full MSD training set (numTraining 260, same median image) the documented batch sizes come out.
  const msd = planExperiment(fp, { ...json, numTraining: 260 }, { datasetName: 'Dataset004_Hippocampus' });
  assert.equal(msd.configurations['3d_fullres'].batch_size, 9);
  assert.equal(msd.configurations['2d'].batch_size, 366);
});

test('Dataset004 fingerprint geometry equals nibabel + scipy crop_to_nonzero', async (t) => {
  if (!existsSync(datasetDir)) return t.skip(`${datasetDir} not found`);
  const why = referenceUnavailable(['numpy', 'scipy', 'nibabel']);
  if (why) return t.skip(why);
  const fp = await fingerprint();
  const ref = runReference<{ case: string; spacing: number[]; shape_after_crop: number[]; relative_size: number }[]>(
    'geometry',
    { dataset: datasetDir },
  );
  // listTrainingCases and the reference both sort by case identifier.
  assert.deepEqual(fp.spacings, ref.map((r) => r.spacing));
  assert.deepEqual(fp.shapes_after_crop, ref.map((r) => r.shape_after_crop));
  const sizes = ref.map((r) => r.relative_size).sort((a, b) => a - b);
  const mid = sizes.length / 2;
  assert.equal(fp.median_relative_size_after_cropping, (sizes[mid - 1] + sizes[mid]) / 2);
  const stats = fp.foreground_intensity_properties_per_channel['0'];
  assert.ok(stats.min <= stats.percentile_00_5 && stats.percentile_00_5 <= stats.median);
  assert.ok(stats.median <= stats.percentile_99_5 && stats.percentile_99_5 <= stats.max && stats.std > 0);
});

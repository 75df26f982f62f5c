import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { UserError } from '../../../src/errors.js';
import { planExperiment } from '../../../src/planning/experiment-planner.js';
import {
  parseFingerprint,
  parsePlans,
  readPlansFile,
  resolveConfiguration,
  writePlansFile,
  type Plans,
} from '../../../src/planning/plans-schema.js';

/** Real planner output with a cascade: 3d_lowres + 3d_cascade_fullres (see experiment-planner.test.ts). */
function cascadePlans(): Plans {
  const ip = { max: 1, mean: 0, median: 0, min: -1, percentile_00_5: -1, percentile_99_5: 1, std: 1 };
  const fp = {
    foreground_intensity_properties_per_channel: { '0': ip },
    median_relative_size_after_cropping: 1,
    shapes_after_crop: Array.from({ length: 10 }, () => [60, 512, 512]),
    spacings: Array.from({ length: 10 }, () => [3, 0.8, 0.8]),
  };
  const dj = { channel_names: { '0': 'CT' }, labels: { background: 0, a: 1 }, numTraining: 10, file_ending: '.nii.gz' };
  return planExperiment(fp, dj, { datasetName: 'Dataset900_Aniso' });
}

const isUserError = (pattern: RegExp) => (e: unknown) => e instanceof UserError && pattern.test(e.message);

test('planner output survives a JSON round trip through the schema, extra keys included', () => {
  const plans = cascadePlans();
  const json = JSON.parse(JSON.stringify({ ...plans, my_note: 'kept' }));
  const parsed = parsePlans(json, 'nnUNetPlans.json');
  assert.deepEqual(parsed, json);
});

test('inherits_from: 3d_cascade_fullres resolves to 3d_fullres plus its own keys', () => {
  const plans = cascadePlans();
  const cascade = resolveConfiguration(plans, '3d_cascade_fullres');
  assert.deepEqual(cascade, { ...plans.configurations['3d_fullres'], inherits_from: '3d_fullres', previous_stage: '3d_lowres' });
  // A user configuration overriding a few keys of an inherited one, two levels deep.
  plans.configurations['3d_custom'] = { inherits_from: '3d_cascade_fullres', batch_size: 5, data_identifier: 'custom' };
  const custom = resolveConfiguration(plans, '3d_custom');
  assert.equal(custom.batch_size, 5);
  assert.equal(custom.data_identifier, 'custom');
  assert.equal(custom.previous_stage, '3d_lowres');
  assert.deepEqual(custom.patch_size, plans.configurations['3d_fullres'].patch_size);
  assert.equal(custom.inherits_from, '3d_cascade_fullres');
});

test('resolver errors name the plans and the problem', () => {
  const plans = cascadePlans();
  assert.throws(() => resolveConfiguration(plans, '3d_nope', 'plans.json'), isUserError(/plans\.json.*'3d_nope'.*available: 2d/));
  plans.configurations.a = { inherits_from: 'b' };
  plans.configurations.b = { inherits_from: 'a' };
  assert.throws(() => resolveConfiguration(plans, 'a'), isUserError(/circular inherits_from: a -> b -> a/));
  plans.configurations.c = { inherits_from: 'missing' };
  assert.throws(() => resolveConfiguration(plans, 'c'), isUserError(/'missing' \(inherited by c\)/));
  plans.configurations.d = { batch_size: 2 };
  assert.throws(() => resolveConfiguration(plans, 'd'), isUserError(/configuration 'd'.*patch_size/s));
});

test('invalid files are UserErrors that name the file', async () => {
  assert.throws(() => parsePlans({ dataset_name: 'x' }, 'bad.json'), isUserError(/bad\.json: not a valid nnU-Net plans file/));
  assert.throws(
    () => parseFingerprint({ foreground_intensity_properties_per_channel: {}, median_relative_size_after_cropping: 1, spacings: [[1, 1, 1]], shapes_after_crop: [] }, 'fp.json'),
    isUserError(/fp\.json: 1 spacings but 0 shapes_after_crop/),
  );
  const dir = await mkdtemp(path.join(tmpdir(), 'plans-'));
  try {
    const file = path.join(dir, 'nnUNetPlans.json');
    await writeFile(file, '{ not json');
    await assert.rejects(readPlansFile(file), isUserError(/nnUNetPlans\.json: invalid JSON/));
    await assert.rejects(readPlansFile(path.join(dir, 'absent.json')), isUserError(/absent\.json: cannot read/));
    await writeFile(file, JSON.stringify(cascadePlans(), null, 4));
    assert.equal((await readPlansFile(file)).dataset_name, 'Dataset900_Aniso');
  } finally {
    await rm(dir, { recursive: true });
  }
});

test('writePlansFile keeps user-added configurations of an existing file, replaces planned ones', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'plans-'));
  try {
    const file = path.join(dir, 'nnUNetPlans.json');
    const first = cascadePlans();
    first.configurations['3d_fullres'] = { ...first.configurations['3d_fullres'], batch_size: 99 };
    first.configurations['3d_fullres_bs4'] = { inherits_from: '3d_fullres', batch_size: 4 };
    await writePlansFile(file, first);
    const replanned = cascadePlans();
    await writePlansFile(file, replanned);
    const stored = await readPlansFile(file);
    assert.deepEqual(Object.keys(stored.configurations), [...Object.keys(replanned.configurations), '3d_fullres_bs4']);
    assert.equal(stored.configurations['3d_fullres'].batch_size, replanned.configurations['3d_fullres'].batch_size);
    assert.equal(resolveConfiguration(stored, '3d_fullres_bs4').batch_size, 4);
  } finally {
    await rm(dir, { recursive: true });
  }
});

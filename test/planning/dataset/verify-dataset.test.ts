import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../../../src/errors.js';
import { loadDatasetJson } from '../../../src/planning/dataset-json.js';
import { listImageFolderCases, listTrainingCases, type DatasetProblem } from '../../../src/planning/raw-dataset.js';
import { assertDatasetIntegrity, verifyDatasetIntegrity } from '../../../src/planning/verify-dataset.js';
import { affineFor, datasetJson, image, label, writeCase, writeJson, writeVolume } from './synthetic.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const hippocampus = path.resolve(repoRoot, '../shared/data/Dataset004_Hippocampus');

const tmp = await mkdtemp(path.join(tmpdir(), 'verify-test-'));
test.after(() => rm(tmp, { recursive: true, force: true }));

type Expected = [file: string, severity: 'error' | 'warning', pattern: RegExp];

function assertProblems(problems: DatasetProblem[], root: string, expected: Expected[]): void {
  const shown = problems.map((p) => `${p.severity} ${path.relative(root, p.file)}: ${p.message}`).join('\n');
  for (const [file, severity, pattern] of expected) {
    const hit = problems.find((p) => p.file === path.join(root, file) && p.severity === severity && pattern.test(p.message));
    assert.ok(hit, `expected ${severity} ${file} ${pattern}; got:\n${shown}`);
  }
  assert.equal(problems.length, expected.length, `unexpected extra problems:\n${shown}`);
}

/** One dataset with a different defect in (almost) every case. */
async function buildBrokenDataset(): Promise<string> {
  const dir = path.join(tmp, 'Dataset900_Broken');
  const img = (name: string): string => path.join(dir, 'imagesTr', name);
  const lab = (name: string): string => path.join(dir, 'labelsTr', name);
  await writeJson(path.join(dir, 'dataset.json'), datasetJson({ numTraining: 12 }));

  await writeCase(dir, 'ok_001');
  await writeVolume(img('ok_001_0002.nii.gz'), image()); // a third channel dataset.json does not declare

  await writeCase(dir, 'cutgz_002');
  const gz = await readFile(img('cutgz_002_0000.nii.gz'));
  await writeFile(img('cutgz_002_0000.nii.gz'), gz.subarray(0, gz.length - 25));

  const flat = { shape: [4, 5] };
  await writeVolume(img('flat_003_0000.nii.gz'), image(20), flat);
  await writeVolume(img('flat_003_0001.nii.gz'), image(20), flat);
  await writeVolume(lab('flat_003.nii.gz'), label([0, 1], 20), { ...flat, dtype: 'uint8' });

  await writeCase(dir, 'shape_004');
  await writeVolume(lab('shape_004.nii.gz'), label([0, 1], 48), { shape: [3, 4, 4], dtype: 'uint8' });

  // the label 1 mm off along z (2 mm voxels): half a voxel, still a warning; channel 1 mirrored in x: refused
  await writeCase(dir, 'affine_005');
  await writeVolume(lab('affine_005.nii.gz'), label(), { dtype: 'uint8', affine: affineFor({ origin: [10, -20, 31] }) });
  await writeVolume(img('affine_005_0001.nii.gz'), image(), { affine: affineFor({ flipX: true }) });

  // z spacing 3 mm instead of 2 moves the far corner (index 2) by 2 mm, a whole voxel
  await writeCase(dir, 'spacing_006');
  await writeVolume(lab('spacing_006.nii.gz'), label(), { dtype: 'uint8', affine: affineFor({ spacing: [1, 1.5, 3] }) });

  await writeCase(dir, 'undeclared_007');
  await writeVolume(lab('undeclared_007.nii.gz'), label([0, 1, 5]), { dtype: 'uint8' });

  await writeCase(dir, 'nan_008');
  const bad = image();
  bad[7] = NaN;
  bad[9] = -Infinity;
  await writeVolume(img('nan_008_0001.nii.gz'), bad);

  await writeVolume(img('missingch_009_0000.nii.gz'), image());
  await writeVolume(lab('missingch_009.nii.gz'), label(), { dtype: 'uint8' });

  await writeVolume(img('nolabel_010_0000.nii.gz'), image());
  await writeVolume(img('nolabel_010_0001.nii.gz'), image());

  await writeVolume(lab('orphan_011.nii.gz'), label(), { dtype: 'uint8' });

  await writeCase(dir, 'link_012');
  const outside = path.join(tmp, 'outside_0000.nii.gz');
  await writeVolume(outside, image());
  await rm(img('link_012_0000.nii.gz'));
  await symlink(outside, img('link_012_0000.nii.gz'));

  await writeFile(img('readme.txt'), 'notes');
  await writeVolume(img('badname.nii.gz'), image());
  await writeFile(img('._ok_001_0000.nii.gz'), 'macOS resource fork'); // skipped silently, as nnU-Net does
  return dir;
}

const BROKEN_EXPECTED: Expected[] = [
  ['imagesTr/readme.txt', 'warning', /ignored: does not end in \.nii\.gz/],
  ['imagesTr/badname.nii.gz', 'error', /must be <case>_XXXX\.nii\.gz/],
  ['imagesTr/ok_001_0002.nii.gz', 'error', /extra channel 0002: dataset.json declares 2 channel/],
  ['imagesTr/missingch_009_0001.nii.gz', 'error', /missing channel 1 of case missingch_009/],
  ['labelsTr/orphan_011.nii.gz', 'error', /label without images: no .*orphan_011_0000\.nii\.gz/],
  ['labelsTr/nolabel_010.nii.gz', 'error', /missing label of case nolabel_010/],
  ['imagesTr/link_012_0000.nii.gz', 'error', /resolves to .*outside_0000\.nii\.gz, outside the dataset folder/],
  ['dataset.json', 'error', /numTraining is 12 but 11 training case\(s\) were found/],
  ['imagesTr/cutgz_002_0000.nii.gz', 'error', /^truncated or corrupt gzip/],
  ['imagesTr/flat_003_0000.nii.gz', 'error', /is 2D but the dataset's other files are 3D/],
  ['imagesTr/flat_003_0001.nii.gz', 'error', /is 2D but the dataset's other files are 3D/],
  ['labelsTr/flat_003.nii.gz', 'error', /is 2D but the dataset's other files are 3D/],
  ['labelsTr/shape_004.nii.gz', 'error', /label shape \[3, 4, 4\] differs from shape_004_0000\.nii\.gz shape \[3, 4, 5\]/],
  ['labelsTr/affine_005.nii.gz', 'warning', /^label geometry differs from \S*affine_005_0000\.nii\.gz: origin off by \[0, 0, 1\] mm \(LPS x, y, z\), 0\.5 voxels; within half a voxel/],
  ['imagesTr/affine_005_0001.nii.gz', 'error', /^channel 1 geometry differs from \S*affine_005_0000\.nii\.gz: direction differs by \[\[2, 0, 0\], \[0, 0, 0\], \[0, 0, 0\]\] \(a mirror flip\), 8 voxels at the far corners: more than half a voxel/],
  ['labelsTr/affine_005.nii.gz', 'error', /^label geometry differs from \S*affine_005_0001\.nii\.gz: origin off .*; direction differs .*: more than half a voxel/],
  ['labelsTr/spacing_006.nii.gz', 'error', /^label geometry differs from \S*spacing_006_0000\.nii\.gz: spacing \[1, 1\.5, 3\] vs \[1, 1\.5, 2\] mm \(x, y, z\), 1 voxel at the far corner: more than half a voxel/],
  ['labelsTr/undeclared_007.nii.gz', 'error', /label values 5 are not declared in dataset.json labels \(declared: 0, 1, 2\)/],
  ['imagesTr/nan_008_0001.nii.gz', 'error', /contains 1 NaN and 1 infinite voxel/],
];

test('a broken dataset reports every problem at once, each naming its file', async () => {
  const dir = await buildBrokenDataset();
  const report = await verifyDatasetIntegrity(dir);
  assert.equal(report.ok, false);
  assertProblems(report.problems, dir, BROKEN_EXPECTED);

  await assert.rejects(assertDatasetIntegrity(dir), (err: unknown) => {
    assert.ok(err instanceof UserError);
    for (const [file] of BROKEN_EXPECTED) assert.ok(err.message.includes(path.join(dir, file)), `message lacks ${file}`);
    assert.match(err.message, /17 error\(s\), 2 warning\(s\)/);
    return true;
  });
  // Case enumeration for planning refuses the same dataset, listing the structural errors.
  await assert.rejects(listTrainingCases(dir, await loadDatasetJson(path.join(dir, 'dataset.json'))), (err: unknown) => {
    assert.ok(err instanceof UserError);
    assert.match(err.message, /6 problem\(s\) in the raw dataset/);
    assert.match(err.message, /orphan_011/);
    return true;
  });
});

test('paths in a dataset.json "dataset" list may not leave the dataset folder', async () => {
  const dir = path.join(tmp, 'Dataset901_Listed');
  await writeCase(dir, 'good');
  await writeVolume(path.join(tmp, 'elsewhere', 'x_0000.nii.gz'), image());
  await writeJson(
    path.join(dir, 'dataset.json'),
    datasetJson({
      channel_names: { '0': 'CT' },
      numTraining: 4,
      dataset: {
        good: { images: ['imagesTr/good_0000.nii.gz'], label: 'labelsTr/good.nii.gz' },
        dotdot: { images: ['../elsewhere/x_0000.nii.gz'], label: 'labelsTr/good.nii.gz' },
        absolute: { images: [path.join(tmp, 'elsewhere', 'x_0000.nii.gz')], label: 'labelsTr/good.nii.gz' },
        '../evil': { images: ['imagesTr/good_0000.nii.gz'], label: 'labelsTr/good.nii.gz' },
      },
    }),
  );
  const report = await verifyDatasetIntegrity(dir);
  assertProblems(report.problems, dir, [
    ['../elsewhere/x_0000.nii.gz', 'error', /case dotdot: "\.\.\/elsewhere\/x_0000\.nii\.gz" in .*dataset\.json points outside the dataset folder/],
    ['../elsewhere/x_0000.nii.gz', 'error', /case absolute: absolute paths are not allowed/],
    ['dataset.json', 'error', /case identifier "\.\.\/evil" contains a path separator/],
  ]);
  assert.equal(report.numCasesChecked, 1);
});

test('bad or missing dataset.json is reported naming the file', async () => {
  const cases: [string, unknown, RegExp][] = [
    ['missing', undefined, /dataset\.json not found/],
    ['notjson', '{ "labels": ', /not valid JSON/],
    // broken region definitions, each naming its key
    ['emptyregion', datasetJson({ labels: { background: 0, whole: [1, 2], core: [] }, regions_class_order: [1, 2] }), /"core" is an empty region.*\n  → at labels\.core/],
    ['regionoutside', datasetJson({ labels: { background: 0, whole: [1, 2], core: [2, 4] }, regions_class_order: [1, 2] }), /region "core" holds 4, outside the label set.*\n  → at labels\.core/],
    ['regionignore', datasetJson({ labels: { background: 0, whole: [1, 2], core: [2, 3], ignore: 3 }, regions_class_order: [1, 2] }), /the ignore label cannot be part of a region\n  → at labels\.core/],
    ['noorder', datasetJson({ labels: { background: 0, whole: [1, 2], core: 2 } }), /need regions_class_order.*\n  → at regions_class_order/],
    ['orderlength', datasetJson({ labels: { background: 0, whole: [1, 2], core: 2 }, regions_class_order: [1, 2, 2] }), /has 3 entries but labels declare 2 region\(s\).*\n  → at regions_class_order/],
    ['orderlabel', datasetJson({ labels: { background: 0, whole: [1, 2], core: 2 }, regions_class_order: [1, 3] }), /3 is not a foreground label of the label set \(1, 2\)\n  → at regions_class_order\.1/],
    ['ignoremid', datasetJson({ labels: { background: 0, a: 1, ignore: 2, b: 3 } }), /label values must be consecutive 0, 1, 2, \.\.\., got 0, 1, 3/],
    ['ignorelow', datasetJson({ labels: { background: 0, a: 1, b: 2, ignore: 4 } }), /the ignore label must be the highest value \(3\)\n  → at labels\.ignore/],
    ['nonumtraining', datasetJson({ numTraining: undefined }), /invalid dataset\.json\n✖ .*\n  → at numTraining/],
    ['gaps', datasetJson({ labels: { background: 0, a: 1, b: 3 } }), /label values must be consecutive 0, 1, 2, \.\.\., got 0, 1, 3/],
    ['ending', datasetJson({ file_ending: '.mha' }), /file ending "\.mha" is not supported/],
    ['msd', { modality: { '0': 'MRI' }, labels: { '0': 'background' }, numTraining: 1 }, /convert the task with convert-msd/],
  ];
  for (const [name, content, pattern] of cases) {
    const dir = path.join(tmp, `json_${name}`);
    await writeCase(dir, 'case');
    const file = path.join(dir, 'dataset.json');
    if (typeof content === 'string') await writeFile(file, content);
    else if (content !== undefined) await writeJson(file, content);
    const report = await verifyDatasetIntegrity(dir);
    assert.equal(report.problems.length, 1, name);
    assert.equal(report.problems[0].file, file, name);
    assert.match(report.problems[0].message, pattern, name);
  }
});

test('a clean synthetic dataset passes and lists its cases; imagesTs is enumerated too', async () => {
  const dir = path.join(tmp, 'Dataset902_Clean');
  await writeJson(path.join(dir, 'dataset.json'), datasetJson({ numTraining: 2 }));
  await writeCase(dir, 'b');
  await writeCase(dir, 'a');
  await writeVolume(path.join(dir, 'imagesTs', 't_0000.nii.gz'), image());
  await writeVolume(path.join(dir, 'imagesTs', 't_0001.nii.gz'), image());
  const report = await assertDatasetIntegrity(dir);
  assert.deepEqual(report.problems, []);
  const cases = await listTrainingCases(dir, await loadDatasetJson(path.join(dir, 'dataset.json')));
  assert.deepEqual(
    cases.map((c) => [c.identifier, c.images.map((f) => path.basename(f)), path.basename(c.label)]),
    [
      ['a', ['a_0000.nii.gz', 'a_0001.nii.gz'], 'a.nii.gz'],
      ['b', ['b_0000.nii.gz', 'b_0001.nii.gz'], 'b.nii.gz'],
    ],
  );
  const test_ = await listImageFolderCases(path.join(dir, 'imagesTs'), '.nii.gz', 2);
  assert.deepEqual(test_.map((c) => c.identifier), ['t']);
  await assert.rejects(listImageFolderCases(path.join(dir, 'imagesTs'), '.nii.gz', 3), /missing channel 2 of case t/);
  await mkdir(path.join(dir, 'empty'));
  assert.deepEqual(await listImageFolderCases(path.join(dir, 'empty'), '.nii.gz', 1), []);
});

test('the real Dataset004_Hippocampus passes, in a few seconds', async (t) => {
  if (!existsSync(hippocampus)) return t.skip(`${hippocampus} absent`);
  const start = performance.now();
  const report = await verifyDatasetIntegrity(hippocampus);
  const seconds = (performance.now() - start) / 1000;
  assert.deepEqual(report.problems, []);
  assert.equal(report.ok, true);
  assert.equal(report.numCasesChecked, 210);
  assert.ok(seconds < 15, `took ${seconds.toFixed(1)} s`);
});

// label files may hold every declared value (an ignore label, the members of regions), nothing else
const DECLARED_LABELS = [
  { name: 'the ignore label is a declared value', dataset: 'Dataset903_Ignore', labels: { background: 0, liver: 1, tumour: 2, ignore: 3 } },
  { name: 'a region dataset declares its region members (all_labels)', dataset: 'Dataset905_Regions', labels: { background: 0, whole: [1, 2, 3], core: [2, 3], enhancing: [3] }, regions_class_order: [1, 2, 3] },
];
for (const c of DECLARED_LABELS) {
  test(`${c.name}: label files may hold it, but nothing else`, async () => {
    const dir = path.join(tmp, c.dataset);
    await writeJson(path.join(dir, 'dataset.json'), datasetJson({ numTraining: 2, labels: c.labels, ...(c.regions_class_order ? { regions_class_order: c.regions_class_order } : {}) }));
    await writeCase(dir, 'a');
    await writeVolume(path.join(dir, 'labelsTr', 'a.nii.gz'), label([0, 1, 2, 3]), { dtype: 'uint8' });
    await writeCase(dir, 'b');
    await writeVolume(path.join(dir, 'labelsTr', 'b.nii.gz'), label([0, 3, 4]), { dtype: 'uint8' });
    const report = await verifyDatasetIntegrity(dir);
    assertProblems(report.problems, dir, [['labelsTr/b.nii.gz', 'error', /label values 4 are not declared .*\(declared: 0, 1, 2, 3\)/]]);
  });
}

test('allowGeometryMismatch turns geometry errors into warnings, and nothing else', async () => {
  const dir = path.join(tmp, 'Dataset904_Geometry');
  await writeJson(path.join(dir, 'dataset.json'), datasetJson({ numTraining: 2 }));
  await writeCase(dir, 'a');
  await writeVolume(path.join(dir, 'labelsTr', 'a.nii.gz'), label(), { dtype: 'uint8', affine: affineFor({ origin: [20, -20, 30] }) });
  await writeCase(dir, 'b');
  await writeVolume(path.join(dir, 'labelsTr', 'b.nii.gz'), label([0, 7]), { dtype: 'uint8' });
  const refused = await verifyDatasetIntegrity(dir);
  assertProblems(refused.problems, dir, [
    ['labelsTr/a.nii.gz', 'error', /^label geometry differs from \S*a_0000\.nii\.gz: origin off by \[-10, 0, 0\] mm \(LPS x, y, z\), 10 voxels: more than half a voxel.*--allow-geometry-mismatch/],
    ['labelsTr/b.nii.gz', 'error', /label values 7 are not declared/],
  ]);
  const allowed = await verifyDatasetIntegrity(dir, { allowGeometryMismatch: true });
  assertProblems(allowed.problems, dir, [
    ['labelsTr/a.nii.gz', 'warning', /origin off by \[-10, 0, 0\] mm .*more than half a voxel; the voxel arrays are used as they are/],
    ['labelsTr/b.nii.gz', 'error', /label values 7 are not declared/],
  ]);
});

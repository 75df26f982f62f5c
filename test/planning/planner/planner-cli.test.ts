// `-pl` / `--planner` through the CLI on a tiny generated dataset: a ResEnc preset writes its own plans file but
// preprocesses into the default plans' data folders (upstream's generate_data_identifier override), and an unknown
// planner is one user error naming the known ones, before anything is written.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { generateSyntheticDataset } from '../../../src/cli/demo/synthetic-dataset.js';
import type { Plans } from '../../../src/planning/plans-schema.js';
import { outputOf, runCli } from '../../cli/cli-process.js';

const root = mkdtempSync(path.join(tmpdir(), 'nnunet-planner-cli-'));
after(() => rmSync(root, { recursive: true, force: true }));

const raw = path.join(root, 'raw');
const preprocessed = path.join(root, 'preprocessed');
const folders = ['--raw', raw, '--preprocessed', preprocessed, '--no-progress'];
const readPlans = (file: string): Plans => JSON.parse(readFileSync(file, 'utf8')) as Plans;

test('plan-and-preprocess -pl nnUNetPlannerResEncM writes nnUNetResEncUNetMPlans.json and fills nnUNetPlans_3d_fullres', { timeout: 120_000 }, async () => {
  const ds = await generateSyntheticDataset({ rawDir: raw, datasetId: 43, shape: [12, 24, 24], numTraining: 4, numTest: 0, seed: 3 });
  const out = path.join(preprocessed, ds.datasetName);

  const unknown = await runCli(['plan-and-preprocess', '-d', '43', '-pl', 'nnUNetPlannerResEncXXL', ...folders]);
  assert.equal(unknown.code, 1, outputOf(unknown));
  assert.equal(
    unknown.stderr.trim(),
    "nnunet: unknown planner 'nnUNetPlannerResEncXXL'; known planners: ExperimentPlanner, ResEncUNetPlanner, nnUNetPlannerResEncM, nnUNetPlannerResEncL, nnUNetPlannerResEncXL",
  );
  assert.ok(!existsSync(out), 'nothing written for an unknown planner');

  const r = await runCli(['plan-and-preprocess', '-d', '43', '-pl', 'nnUNetPlannerResEncM', '-c', '3d_fullres', '-np', '2', ...folders], { timeoutMs: 100_000 });
  assert.equal(r.code, 0, outputOf(r));
  assert.match(r.stdout, /Dataset043_Synthetic: planned .*3d_fullres.*; preprocessed 3d_fullres/);
  assert.ok(!existsSync(path.join(out, 'nnUNetPlans.json')), 'the default plans are not written');
  const plans = readPlans(path.join(out, 'nnUNetResEncUNetMPlans.json'));
  assert.equal(plans.plans_name, 'nnUNetResEncUNetMPlans');
  assert.equal(plans.experiment_planner_used, 'nnUNetPlannerResEncM');
  const full = plans.configurations['3d_fullres'];
  assert.equal(full.data_identifier, 'nnUNetPlans_3d_fullres');
  assert.equal(full.architecture?.network_class_name, 'dynamic_network_architectures.architectures.unet.ResidualEncoderUNet');
  assert.equal(plans.configurations['2d'].data_identifier, 'nnUNetPlans_2d');
  // the shared folder holds the cases; no ResEnc-specific copy of them
  assert.ok(readdirSync(path.join(out, 'nnUNetPlans_3d_fullres')).length >= 4);
  assert.ok(!readdirSync(out).some((f) => f.startsWith('nnUNetResEncUNetMPlans_')), readdirSync(out).join(', '));
});

test('plan: -gpu_memory_target and -overwrite_plans_name are upstream spellings of --gpu-memory-target / --plans-name', { timeout: 60_000 }, async () => {
  // needs the fingerprint written by the test above
  const out = path.join(preprocessed, 'Dataset043_Synthetic');
  const r = await runCli(['plan', '-d', '43', '-pl', 'nnUNetPlannerResEncL', '-gpu_memory_target', '24', '-overwrite_plans_name', 'MyL', ...folders]);
  assert.equal(r.code, 0, outputOf(r));
  const plans = readPlans(path.join(out, 'MyL.json'));
  assert.equal(plans.plans_name, 'MyL');
  assert.equal(plans.experiment_planner_used, 'nnUNetPlannerResEncL');
  assert.equal(plans.configurations['3d_fullres'].data_identifier, 'nnUNetPlans_3d_fullres');
  assert.doesNotMatch(r.stderr, /calibrated/, 'the preset target: no warning');
  const off = await runCli(['plan', '-d', '43', '--planner', 'nnUNetPlannerResEncL', '--gpu-memory-target', '12', ...folders]);
  assert.equal(off.code, 0, outputOf(off));
  assert.match(off.stderr, /nnUNetPlannerResEncL is calibrated for 24 GB of GPU memory; planning for 12 GB as asked/);
  assert.ok(existsSync(path.join(out, 'nnUNetResEncUNetLPlans.json')));
});

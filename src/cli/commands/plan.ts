import { Command } from 'commander';
import { DEFAULT_CONFIGURATIONS, extractFingerprintStep, planAndPreprocess, planStep, preprocessStep } from '../../preprocessing/plan-and-preprocess.js';
import { type FolderOptions } from '../folders.js';
import { positiveInt } from '../parse.js';
import { progressBar } from '../progress.js';

interface PlanCliOptions extends FolderOptions {
  datasetId: string[];
  configurations: string[];
  verifyDatasetIntegrity?: boolean;
  numProcesses?: number;
  numProcessesFingerprint: number;
  plansName: string;
  gpuMemoryTarget?: number;
  clean?: boolean;
  progress: boolean;
}

function dirs(o: FolderOptions) {
  return { raw: o.raw, preprocessed: o.preprocessed };
}

function withCommon(cmd: Command, parts: { fingerprint?: boolean; plan?: boolean; preprocess?: boolean }): Command {
  cmd.requiredOption('-d, --dataset-id <ids...>', 'dataset ids (4) or names (Dataset004_Hippocampus)');
  if (parts.fingerprint) {
    cmd
      .option('--verify-dataset-integrity', 'check every file first (shapes, geometry, labels, NaN); stop and write nothing on any problem')
      .option('--num-processes-fingerprint <n>', 'cases read at once for the fingerprint', positiveInt, 4)
      .option('--clean', 'recompute the fingerprint even if dataset_fingerprint.json exists');
  }
  if (parts.plan) cmd.option('--gpu-memory-target <gb>', 'GPU memory the plans are sized for (nnU-Net: 8)', Number);
  if (parts.plan || parts.preprocess) cmd.option('--plans-name <name>', 'plans identifier', 'nnUNetPlans');
  if (parts.preprocess) {
    cmd
      .option('-c, --configurations <names...>', 'configurations to preprocess (those the plans contain)', DEFAULT_CONFIGURATIONS)
      .option('--num-processes <n>', 'worker threads for preprocessing (nnU-Net -np)', positiveInt);
  }
  return cmd
    .option('--raw <dir>', 'nnUNet_raw folder (default: $nnUNet_raw)')
    .option('--preprocessed <dir>', 'nnUNet_preprocessed folder (default: $nnUNet_preprocessed)')
    .option('--no-progress', 'no progress bar');
}

export function planCommands(): Command[] {
  const all = withCommon(
    new Command('plan-and-preprocess').description('Fingerprint, plan and preprocess a raw dataset (nnUNetv2_plan_and_preprocess)'),
    { fingerprint: true, plan: true, preprocess: true },
  ).action(async (o: PlanCliOptions) => {
    for (const id of o.datasetId) {
      const fp = progressBar('fingerprint', o.progress);
      const pp = progressBar('preprocess', o.progress);
      const result = await planAndPreprocess({
        datasetId: id,
        dirs: dirs(o),
        verifyIntegrity: o.verifyDatasetIntegrity,
        fingerprintProcesses: o.numProcessesFingerprint,
        clean: o.clean,
        plansName: o.plansName,
        gpuMemoryTargetGB: o.gpuMemoryTarget,
        configurations: o.configurations,
        numProcesses: o.numProcesses,
        onFingerprintProgress: (done, total) => fp.update(done, total),
        onPreprocessProgress: (p) => pp.update(p.done, p.total, p.configuration),
      });
      fp.stop();
      pp.stop();
      const configs = Object.keys(result.plans.configurations);
      console.log(`${result.datasetName}: planned ${configs.join(', ')}; preprocessed ${result.preprocessed.map((r) => r.configuration).join(', ') || 'nothing'}`);
    }
  });
  const fingerprint = withCommon(new Command('extract-fingerprint').description('Only the dataset fingerprint (nnUNetv2_extract_fingerprint)'), { fingerprint: true }).action(
    async (o: PlanCliOptions) => {
      for (const id of o.datasetId) {
        const bar = progressBar('fingerprint', o.progress);
        const r = await extractFingerprintStep({ datasetId: id, dirs: dirs(o), verifyIntegrity: o.verifyDatasetIntegrity, numProcesses: o.numProcessesFingerprint, clean: o.clean, onProgress: (d, t) => bar.update(d, t) });
        bar.stop();
        console.log(`wrote ${r.file}`);
      }
    },
  );
  const plan = withCommon(new Command('plan').description('Only the experiment planning, from an existing fingerprint (nnUNetv2_plan_experiment)'), { plan: true }).action(async (o: PlanCliOptions) => {
    for (const id of o.datasetId) {
      const r = await planStep({ datasetId: id, dirs: dirs(o), plansName: o.plansName, gpuMemoryTargetGB: o.gpuMemoryTarget });
      console.log(`wrote ${r.file}`);
    }
  });
  const preprocess = withCommon(new Command('preprocess').description('Only the preprocessing, from existing plans (nnUNetv2_preprocess)'), { preprocess: true }).action(async (o: PlanCliOptions) => {
    for (const id of o.datasetId) {
      const bar = progressBar('preprocess', o.progress);
      const r = await preprocessStep({ datasetId: id, dirs: dirs(o), configurations: o.configurations, numProcesses: o.numProcesses, plansName: o.plansName, onProgress: (p) => bar.update(p.done, p.total, p.configuration) });
      bar.stop();
      console.log(`preprocessed ${r.map((x) => x.configuration).join(', ')}`);
    }
  });
  return [all, fingerprint, plan, preprocess];
}

import { Command } from 'commander';
import { addFolderOptions, type FolderOptions } from '../folders.js';
import { positiveInt, positiveNumber } from '../parse.js';
import { progressBar } from '../progress.js';

interface PlanCliOptions extends FolderOptions {
  datasetId: string[];
  configurations?: string[];
  verifyDatasetIntegrity?: boolean;
  numProcesses?: number;
  numProcessesFingerprint: number;
  plansName: string;
  gpuMemoryTarget?: number;
  clean?: boolean;
  progress: boolean;
}

// loads libtorch: imported when a command runs, so --help and usage errors answer at once
const steps = () => import('../../preprocessing/plan-and-preprocess.js');

function dirs(o: FolderOptions) {
  return { raw: o.raw, preprocessed: o.preprocessed };
}

function withCommon(cmd: Command, parts: { fingerprint?: boolean; plan?: boolean; preprocess?: boolean }): Command {
  cmd.requiredOption('-d, --dataset-id <ids...>', 'dataset ids (4) or names (Dataset004_Hippocampus), found in the raw folder');
  if (parts.fingerprint) {
    cmd
      .option('--verify-dataset-integrity', 'check every file first (shapes, geometry, labels, NaN); on any problem list them all and write nothing (default: off)')
      .option('--num-processes-fingerprint <n>', 'cases read at once for the fingerprint (nnU-Net -npfp)', positiveInt, 4)
      .option('--clean', 'recompute the fingerprint even if dataset_fingerprint.json exists (default: reuse it)');
  }
  if (parts.plan) cmd.option('--gpu-memory-target <gb>', 'GPU memory in GB that patch and batch size are planned for (default: 8, as nnU-Net)', positiveNumber);
  if (parts.plan || parts.preprocess) cmd.option('--plans-name <name>', 'plans identifier: the plans file is <name>.json', 'nnUNetPlans');
  if (parts.preprocess) {
    cmd
      .option('-c, --configurations <names...>', 'configurations to preprocess (default: those of 2d, 3d_fullres, 3d_lowres that the plans contain)')
      .option('--num-processes <n>', 'worker threads for preprocessing (nnU-Net -np; default: 8 for 2d and 3d_lowres, 4 for 3d_fullres)', positiveInt);
  }
  return addFolderOptions(cmd, ['raw', 'preprocessed']).option('--no-progress', 'no progress bars (default: bars on a terminal, plain lines otherwise)');
}

export function planCommands(): Command[] {
  const all = withCommon(
    new Command('plan-and-preprocess')
      .summary('fingerprint, plan and preprocess a raw dataset')
      .description('Fingerprint, plan and preprocess a raw dataset (nnUNetv2_plan_and_preprocess). Writes nnUNet_preprocessed/DatasetXXX_Name.'),
    { fingerprint: true, plan: true, preprocess: true },
  ).action(async (o: PlanCliOptions) => {
    const { planAndPreprocess } = await steps();
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
  const fingerprint = withCommon(new Command('extract-fingerprint').summary('only the dataset fingerprint').description('Only the dataset fingerprint: dataset_fingerprint.json (nnUNetv2_extract_fingerprint)'), { fingerprint: true }).action(
    async (o: PlanCliOptions) => {
      const { extractFingerprintStep } = await steps();
      for (const id of o.datasetId) {
        const bar = progressBar('fingerprint', o.progress);
        const r = await extractFingerprintStep({ datasetId: id, dirs: dirs(o), verifyIntegrity: o.verifyDatasetIntegrity, numProcesses: o.numProcessesFingerprint, clean: o.clean, onProgress: (d, t) => bar.update(d, t) });
        bar.stop();
        console.log(`wrote ${r.file}`);
      }
    },
  );
  const plan = withCommon(new Command('plan').summary('only the experiment planning').description('Only the experiment planning, from an existing fingerprint: <plans-name>.json (nnUNetv2_plan_experiment)'), { plan: true }).action(async (o: PlanCliOptions) => {
    const { planStep } = await steps();
    for (const id of o.datasetId) {
      const r = await planStep({ datasetId: id, dirs: dirs(o), plansName: o.plansName, gpuMemoryTargetGB: o.gpuMemoryTarget });
      console.log(`wrote ${r.file}`);
    }
  });
  const preprocess = withCommon(new Command('preprocess').summary('only the preprocessing').description('Only the preprocessing, from existing plans (nnUNetv2_preprocess)'), { preprocess: true }).action(async (o: PlanCliOptions) => {
    const { preprocessStep } = await steps();
    for (const id of o.datasetId) {
      const bar = progressBar('preprocess', o.progress);
      const r = await preprocessStep({ datasetId: id, dirs: dirs(o), configurations: o.configurations, numProcesses: o.numProcesses, plansName: o.plansName, onProgress: (p) => bar.update(p.done, p.total, p.configuration) });
      bar.stop();
      console.log(`preprocessed ${r.map((x) => x.configuration).join(', ')}`);
    }
  });
  return [all, fingerprint, plan, preprocess];
}

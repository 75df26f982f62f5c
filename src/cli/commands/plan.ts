import { Command } from 'commander';
import { DEFAULT_PLANNER_NAME, getPlanner, listPlanners } from '../../planning/planners/index.js';
import { addFolderOptions, type FolderOptions } from '../folders.js';
import { positiveInt, positiveNumber } from '../parse.js';
import { progressBar } from '../progress.js';

interface PlanCliOptions extends FolderOptions {
  datasetId: string[];
  configurations?: string[];
  verifyDatasetIntegrity?: boolean;
  numProcesses?: number;
  numProcessesFingerprint: number;
  /** Unset on the planning commands: the planner's own plans name. */
  plansName?: string;
  planner: string;
  gpuMemoryTarget?: number;
  clean?: boolean;
  allowGeometryMismatch?: boolean;
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
      .option('--clean', 'recompute the fingerprint even if dataset_fingerprint.json exists (default: reuse it)')
      .option(
        '--allow-geometry-mismatch',
        "go on, with a warning, when a label or channel's origin, direction or spacing moves voxel centres by more than half a voxel against channel 0; the voxel arrays are then used as they are, as nnU-Net does (default: refuse; smaller differences only warn)",
      );
  }
  if (parts.plan) {
    cmd
      .option('--planner <name>', "experiment planner, by nnU-Net's class name (nnU-Net -pl); the planners are listed below", DEFAULT_PLANNER_NAME)
      .option('--gpu-memory-target <gb>', "GPU memory in GB that patch and batch size are planned for (nnU-Net -gpu_memory_target; default: the planner's, 8 for ExperimentPlanner)", positiveNumber)
      .option('--plans-name <name>', "plans identifier: the plans file is <name>.json (nnU-Net -overwrite_plans_name; default: the planner's, nnUNetPlans for ExperimentPlanner)")
      .addHelpText('after', plannersHelp());
  } else if (parts.preprocess) {
    cmd.option('--plans-name <name>', 'plans identifier: the plans file is <name>.json (nnU-Net -plans_name)', 'nnUNetPlans');
  }
  if (parts.preprocess) {
    cmd
      .option('-c, --configurations <names...>', 'configurations to preprocess (default: those of 2d, 3d_fullres, 3d_lowres that the plans contain)')
      .option('--num-processes <n>', 'worker threads for preprocessing (nnU-Net -np; default: 8 for 2d and 3d_lowres, 4 for 3d_fullres)', positiveInt);
  }
  return addFolderOptions(cmd, ['raw', 'preprocessed']).option('--no-progress', 'no progress bars (default: bars on a terminal, plain lines otherwise)');
}

/** Greedy word wrap to `width` columns. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line];
}

/** The planner table under the options: what each targets, as upstream's resenc_presets.md recommends. */
function plannersHelp(): string {
  const planners = listPlanners();
  const width = Math.max(...planners.map((p) => p.name.length));
  const indent = ' '.repeat(width + 4);
  const rows = planners.flatMap((p) =>
    wrap(p.summary, 78 - indent.length).map((text, i) => (i === 0 ? `  ${p.name.padEnd(width)}  ${text}` : `${indent}${text}`)),
  );
  const note = 'ResEnc plans reuse the preprocessed nnUNetPlans_2d and nnUNetPlans_3d_fullres data; train them with -p <plans name>.';
  return ['', "Planners (--planner, nnU-Net's -pl):", ...rows, '', ...wrap(note, 80)].join('\n');
}

export function planCommands(): Command[] {
  const all = withCommon(
    new Command('plan-and-preprocess')
      .summary('fingerprint, plan and preprocess a raw dataset')
      .description('Fingerprint, plan and preprocess a raw dataset (nnUNetv2_plan_and_preprocess). Writes nnUNet_preprocessed/DatasetXXX_Name.'),
    { fingerprint: true, plan: true, preprocess: true },
  ).action(async (o: PlanCliOptions) => {
    getPlanner(o.planner); // an unknown name is reported before libtorch loads
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
        allowGeometryMismatch: o.allowGeometryMismatch,
        planner: o.planner,
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
        const r = await extractFingerprintStep({
          datasetId: id,
          dirs: dirs(o),
          verifyIntegrity: o.verifyDatasetIntegrity,
          numProcesses: o.numProcessesFingerprint,
          clean: o.clean,
          allowGeometryMismatch: o.allowGeometryMismatch,
          onProgress: (d, t) => bar.update(d, t),
        });
        bar.stop();
        console.log(`wrote ${r.file}`);
      }
    },
  );
  const plan = withCommon(new Command('plan').summary('only the experiment planning').description('Only the experiment planning, from an existing fingerprint: <plans-name>.json (nnUNetv2_plan_experiment)'), { plan: true }).action(async (o: PlanCliOptions) => {
    getPlanner(o.planner);
    const { planStep } = await steps();
    for (const id of o.datasetId) {
      const r = await planStep({ datasetId: id, dirs: dirs(o), planner: o.planner, plansName: o.plansName, gpuMemoryTargetGB: o.gpuMemoryTarget });
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

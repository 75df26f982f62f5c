import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { UserError } from '../../errors.js';
import { DEFAULT_PLANS, DEFAULT_TRAINER, foldFolder } from '../../model/model-folder.js';
import type { Device } from '../../torch/tensor.js';
import type { TrainResult } from '../../training/trainer.js';
import { addFolderOptions, datasetName, folder, type FolderOptions } from '../folders.js';
import { DEFAULT_MASTER_ADDR, DEFAULT_MASTER_PORT, rankEnvironment } from '../../training/launch/environment.js';
import { device, fold, nonNegativeInt, nonNegativeNumber, positiveInt, positiveNumber } from '../parse.js';

interface TrainCliOptions extends FolderOptions {
  trainer: string;
  plans: string;
  numEpochs?: number;
  iterationsPerEpoch?: number;
  valIterations?: number;
  seed?: number;
  device: Device;
  amp: boolean;
  deterministic?: boolean;
  saveEvery: number;
  c?: boolean;
  allowScheduleChange?: boolean;
  pretrainedWeights?: string;
  warmupEpochs?: number;
  maxNonfiniteSteps: number;
  earlyStoppingPatience?: number;
  earlyStoppingMinDelta: number;
  earlyStoppingMetric: 'ema_fg_dice' | 'mean_fg_dice' | 'val_loss';
  earlyStoppingAnneal: number;
  numWorkers: number;
  val?: boolean;
  valBest?: boolean;
  npz?: boolean;
  progress: boolean;
  numProcesses?: number;
  numGpus?: number;
  nnodes: number;
  nodeRank: number;
  masterAddr: string;
  masterPort: number;
  distTimeout: number;
}

/** A shell-ready rendering of the arguments, for the resume hint. */
function shellCommand(args: readonly string[]): string {
  return ['nnunet', ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

const LOADER_FLAGS = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader']);

/**
 * How a rank starts this CLI: the `nnunet` entry beside this module (main.js compiled, main.ts under tsx), with only
 * the module-loader flags of this process (tsx's --import; not -e, --inspect or --test). Not process.argv[1]: that is
 * the caller's script (or the first argument, under -e) when the CLI runs through `main([...])`.
 */
function cliEntry(): string[] {
  const flags: string[] = [];
  const execArgv = process.execArgv;
  for (let i = 0; i < execArgv.length; i++) {
    const name = execArgv[i].split('=', 1)[0];
    if (!LOADER_FLAGS.has(name)) continue;
    flags.push(...(execArgv[i].includes('=') ? [execArgv[i]] : [execArgv[i], execArgv[++i]]));
  }
  const compiled = fileURLToPath(new URL('../main.js', import.meta.url));
  return [...flags, existsSync(compiled) ? compiled : compiled.replace(/\.js$/, '.ts')];
}

/**
 * Ranks per node for a data-parallel run, or null for one process. (-np on train is refused in aliases.ts: it
 * means the worker count on the other commands.)
 */
async function ranksPerNode(o: TrainCliOptions): Promise<number | null> {
  if (o.numProcesses !== undefined && o.numGpus !== undefined) throw new UserError('--num-processes (CPU ranks) and --num-gpus (GPU ranks) exclude each other');
  if (o.nodeRank >= o.nnodes) throw new UserError(`--node-rank ${o.nodeRank} is outside --nnodes ${o.nnodes} (node ranks are 0…nnodes-1)`);
  if (o.numGpus !== undefined) {
    const [{ cudaIsAvailable, cudaDeviceCount, torchVersion }, { backendAvailable }] = await Promise.all([import('../../torch/runtime.js'), import('../../torch/distributed.js')]);
    if (!cudaIsAvailable() || !backendAvailable('nccl')) {
      throw new UserError(`--num-gpus needs a CUDA libtorch with NCCL, and this build (libtorch ${torchVersion}) has ${cudaIsAvailable() ? 'no NCCL' : 'no CUDA'}: rebuild with LIBTORCH=/path/to/a CUDA PyTorch's torch/ folder, or train on CPU ranks with --num-processes K`);
    }
    if (cudaDeviceCount() < o.numGpus) throw new UserError(`--num-gpus ${o.numGpus}, but this machine has ${cudaDeviceCount()} GPU(s)`);
  }
  const perNode = o.numGpus ?? o.numProcesses ?? 1;
  return perNode * o.nnodes > 1 ? perNode : null;
}

function trainingSummary(r: TrainResult): string {
  const best = r.bestEma === null ? 'no validation yet' : `best EMA pseudo Dice ${r.bestEma.toFixed(4)} at epoch ${r.bestEpoch}`;
  return `${r.epochs} epoch(s)${r.stoppedEarly ? ' (stopped early)' : ''}, ${best}`;
}

export function trainCommand(): Command {
  const cmd = new Command('train')
    .summary('train a U-Net on a preprocessed dataset')
    .description('Train a U-Net on preprocessed data (nnUNetv2_train), with early stopping and exact resume, then validate the fold')
    .argument('<dataset>', 'dataset id (4) or name (Dataset004_Hippocampus)')
    .argument('<configuration>', 'plans configuration: 2d, 3d_fullres, 3d_lowres, 3d_cascade_fullres (needs all five 3d_lowres folds)')
    .argument('<fold>', "fold 0-4 of splits_final.json, or 'all'", fold)
    .option('--trainer <name>', 'trainer recipe (-tr), e.g. nnUNetTrainer_5epochs, nnUNetTrainerNoMirroring; names the results folder; own recipes load from $nnUNet_extTrainer', DEFAULT_TRAINER)
    .option('-p, --plans <name>', 'plans identifier, e.g. nnUNetResEncUNetMPlans', DEFAULT_PLANS)
    .option('--seed <n>', 'seed of every random draw (weights, sampling, augmentation) (default: 12345; with --c the saved one)', nonNegativeInt)
    .option('--device <device>', 'cpu, cuda or cuda:N', device, 'cpu')
    .option('--no-amp', 'float32 on CUDA instead of autocast + loss scaling (off on CPU anyway)')
    .option('--deterministic', 'cuDNN deterministic algorithms, no benchmarking: repeatable GPU runs, slower')
    .option('--num-workers <n>', 'background data-augmentation threads', nonNegativeInt, 1)
    .option('--no-progress', 'no progress bar (default: a bar on a terminal)')
    .optionsGroup('Data-parallel training (the plans\' batch is split over the ranks):')
    .option('--num-processes <k>', 'K ranks on this machine\'s CPUs, over gloo, the cores split between them (default: 1 process)', positiveInt)
    .option('--num-gpus <k>', 'K ranks on this machine, one per GPU, over NCCL (nnU-Net -num_gpus)', positiveInt)
    .option('--nnodes <n>', 'machines in the job; the world size is nnodes × ranks per node', positiveInt, 1)
    .option('--node-rank <r>', 'this machine\'s index, 0 on the one that runs rank 0', nonNegativeInt, 0)
    .option('--master-addr <host>', 'address of node 0 (torchrun\'s MASTER_ADDR)', process.env.MASTER_ADDR ?? DEFAULT_MASTER_ADDR)
    .option('--master-port <port>', 'port of rank 0\'s rendezvous store (torchrun\'s MASTER_PORT)', positiveInt, Number(process.env.MASTER_PORT) || DEFAULT_MASTER_PORT)
    .option('--dist-timeout <s>', 'seconds a rank waits for the others (rendezvous, one collective) before it fails', positiveNumber, 1800)
    .optionsGroup('Training budget:')
    .option('--num-epochs <n>', "epochs (default: the trainer's; nnUNetTrainer: 1000)", positiveInt)
    .option('--iterations-per-epoch <n>', "training iterations per epoch (default: the trainer's; nnUNetTrainer: 250)", positiveInt)
    .option('--val-iterations <n>', "validation iterations per epoch, for the pseudo Dice (default: the trainer's; nnUNetTrainer: 50)", positiveInt)
    .option('--save-every <n>', 'write checkpoint_latest every n epochs (nnU-Net: 50)', positiveInt, 1)
    .optionsGroup('Resume and fine-tuning:')
    .option('--c', 'continue from the newest valid checkpoint of this fold (default: start anew)')
    .option('--allow-schedule-change', 'with --c: accept a different epoch count, iterations, seed, plans or fold (default: refuse)')
    .option('--pretrained-weights <file>', 'initialize from an nnunet-ts or nnU-Net checkpoint, segmentation heads skipped (default: random init)')
    .option('--warmup-epochs <k>', "linear LR warmup epochs before the poly schedule (fine-tuning; default: the recipe's, 0 for nnUNetTrainer)", nonNegativeInt)
    .option('--max-nonfinite-steps <n>', 'stop after n consecutive steps with a non-finite loss or gradients (each is skipped and logged)', positiveInt, 50)
    .optionsGroup('Early stopping (off unless --early-stopping-patience is given):')
    .option('--early-stopping-patience <n>', 'stop after n epochs without improvement (default: off)', positiveInt)
    .option('--early-stopping-min-delta <d>', 'improvement smaller than this does not count', nonNegativeNumber, 0)
    .addOption(new Option('--early-stopping-metric <metric>', 'monitored value (max for Dice, min for loss)').choices(['ema_fg_dice', 'mean_fg_dice', 'val_loss']).default('ema_fg_dice'))
    .option('--early-stopping-anneal <k>', 'on trigger, first run k epochs with the LR falling linearly to 0', nonNegativeInt, 0)
    .optionsGroup('Final validation:')
    .option('--val', 'only run the final validation (needs checkpoint_final.pth)')
    .option('--val-best', 'validate with checkpoint_best.pth (default: checkpoint_final.pth)')
    .option('--npz', 'also save softmax probabilities of the validation cases (default: off)')
    .optionsGroup('Folders:');
  return addFolderOptions(cmd).action(async (dataset: string, configuration: string, f: number | 'all', o: TrainCliOptions, command: Command) => {
    const started = Date.now();
    const rankEnv = rankEnvironment();
    const perNode = rankEnv ? null : await ranksPerNode(o);
    if (perNode !== null) {
      const { launch } = await import('../../training/launch/launcher.js');
      // the arguments this parse was given (main's argv after the alias spellings were normalized)
      const args = command.parent?.args ?? [];
      process.exitCode = await launch({ ranksPerNode: perNode, nnodes: o.nnodes, nodeRank: o.nodeRank, masterAddr: o.masterAddr, masterPort: o.masterPort, entry: cliEntry(), args, resumeCommand: shellCommand(args.includes('--c') ? args : [...args, '--c']) });
      return;
    }
    // libtorch loads when the command runs, not at startup: --help and usage errors answer at once
    const [{ train }, { validateFold }, { trainingProgressBar }] = await Promise.all([import('../../training/trainer.js'), import('../../inference/validate-fold.js'), import('../training-progress.js')]);
    const name = await datasetName(dataset, o, ['preprocessed', 'raw']);
    const preprocessedDatasetDir = folder('preprocessed', o, name);
    const plansFile = path.join(preprocessedDatasetDir, `${o.plans}.json`);
    if (!existsSync(plansFile)) {
      throw new UserError(`${name} is not preprocessed: ${plansFile} not found; run \`nnunet plan-and-preprocess -d ${dataset} -c ${configuration}\` first`);
    }
    const common = { preprocessedDatasetDir, resultsDatasetDir: folder('results', o, name), configuration, fold: f, plansName: o.plans, trainer: o.trainer };
    // one rank of a data-parallel job (started by the launcher, torchrun or a scheduler): join the others first
    const rank = rankEnv ? await import('../../training/launch/rank.js') : null;
    const trainDevice = rankEnv && rank ? rank.rankDevice(o.numGpus !== undefined ? 'cuda' : o.device, rankEnv) : o.device;
    const strategy = rankEnv && rank ? rank.joinJob(rankEnv, { device: trainDevice, timeoutMs: o.distTimeout * 1000 }) : undefined;
    let trained: TrainResult | null = null;
    if (!o.val) {
      trained = await train({
        ...common,
        numEpochs: o.numEpochs,
        iterationsPerEpoch: o.iterationsPerEpoch,
        valIterations: o.valIterations,
        seed: o.seed,
        device: trainDevice,
        amp: o.amp,
        deterministic: o.deterministic,
        strategy,
        saveEvery: o.saveEvery,
        continueTraining: o.c,
        allowScheduleChange: o.allowScheduleChange,
        pretrainedWeights: o.pretrainedWeights,
        warmupEpochs: o.warmupEpochs,
        maxNonFiniteSteps: o.maxNonfiniteSteps,
        earlyStopping: o.earlyStoppingPatience ? { patience: o.earlyStoppingPatience, minDelta: o.earlyStoppingMinDelta, metric: o.earlyStoppingMetric, annealEpochs: o.earlyStoppingAnneal } : undefined,
        numWorkers: o.numWorkers,
        callbacks: o.progress && process.stderr.isTTY ? [trainingProgressBar()] : [],
      });
      if (trained.interrupted) {
        console.log(`interrupted by ${trained.interrupted} after ${trainingSummary(trained)}; resume with --c`);
        process.exitCode = trained.interrupted === 'SIGINT' ? 130 : 143;
        await strategy?.close();
        return;
      }
    }
    const summary = await validateFold({ ...common, checkpointName: o.valBest ? 'checkpoint_best.pth' : 'checkpoint_final.pth', saveProbabilities: o.npz ?? false, device: trainDevice, strategy, amp: o.amp, deterministic: o.deterministic, echo: (l) => console.log(l) });
    await strategy?.close();
    if (strategy && !strategy.isMain) return;
    const validation = `validation mean foreground Dice ${summary.foreground_mean.Dice.toFixed(4)} (${summary.metric_per_case.length} cases)`;
    const seconds = ((Date.now() - started) / 1000).toFixed(0);
    console.log(`${name} ${configuration} fold ${f}: ${trained ? `${trainingSummary(trained)}, ` : ''}${validation}; ${seconds} s; ${foldFolder(common.resultsDatasetDir, { trainer: o.trainer, plans: o.plans, configuration }, f)}`);
  });
}

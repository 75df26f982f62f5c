import { existsSync } from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { UserError } from '../../errors.js';
import { DEFAULT_PLANS, DEFAULT_TRAINER, foldFolder } from '../../model/model-folder.js';
import type { Device } from '../../torch/tensor.js';
import type { TrainResult } from '../../training/trainer.js';
import { addFolderOptions, datasetName, folder, type FolderOptions } from '../folders.js';
import { device, fold, nonNegativeInt, nonNegativeNumber, positiveInt } from '../parse.js';

interface TrainCliOptions extends FolderOptions {
  trainer: string;
  plans: string;
  numEpochs?: number;
  iterationsPerEpoch?: number;
  valIterations?: number;
  seed?: number;
  device: Device;
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
    .argument('<configuration>', 'plans configuration: 2d, 3d_fullres, 3d_lowres')
    .argument('<fold>', "fold 0-4 of splits_final.json, or 'all'", fold)
    .option('--trainer <name>', 'trainer recipe (-tr), e.g. nnUNetTrainer_5epochs, nnUNetTrainerNoMirroring; names the results folder; own recipes load from $nnUNet_extTrainer', DEFAULT_TRAINER)
    .option('-p, --plans <name>', 'plans identifier, e.g. nnUNetResEncUNetMPlans', DEFAULT_PLANS)
    .option('--seed <n>', 'seed of every random draw (weights, sampling, augmentation) (default: 12345; with --c the saved one)', nonNegativeInt)
    .option('--device <device>', 'cpu, cuda or cuda:N', device, 'cpu')
    .option('--num-workers <n>', 'background data-augmentation threads', nonNegativeInt, 1)
    .option('--no-progress', 'no progress bar (default: a bar on a terminal)')
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
  return addFolderOptions(cmd).action(async (dataset: string, configuration: string, f: number | 'all', o: TrainCliOptions) => {
    const started = Date.now();
    // libtorch loads when the command runs, not at startup: --help and usage errors answer at once
    const [{ train }, { validateFold }, { trainingProgressBar }] = await Promise.all([import('../../training/trainer.js'), import('../../inference/validate-fold.js'), import('../training-progress.js')]);
    const name = await datasetName(dataset, o, ['preprocessed', 'raw']);
    const preprocessedDatasetDir = folder('preprocessed', o, name);
    const plansFile = path.join(preprocessedDatasetDir, `${o.plans}.json`);
    if (!existsSync(plansFile)) {
      throw new UserError(`${name} is not preprocessed: ${plansFile} not found; run \`nnunet plan-and-preprocess -d ${dataset} -c ${configuration}\` first`);
    }
    const common = { preprocessedDatasetDir, resultsDatasetDir: folder('results', o, name), configuration, fold: f, plansName: o.plans, trainer: o.trainer };
    let trained: TrainResult | null = null;
    if (!o.val) {
      trained = await train({
        ...common,
        numEpochs: o.numEpochs,
        iterationsPerEpoch: o.iterationsPerEpoch,
        valIterations: o.valIterations,
        seed: o.seed,
        device: o.device,
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
        return;
      }
    }
    const summary = await validateFold({ ...common, checkpointName: o.valBest ? 'checkpoint_best.pth' : 'checkpoint_final.pth', saveProbabilities: o.npz ?? false, device: o.device, echo: (l) => console.log(l) });
    const validation = `validation mean foreground Dice ${summary.foreground_mean.Dice.toFixed(4)} (${summary.metric_per_case.length} cases)`;
    const seconds = ((Date.now() - started) / 1000).toFixed(0);
    console.log(`${name} ${configuration} fold ${f}: ${trained ? `${trainingSummary(trained)}, ` : ''}${validation}; ${seconds} s; ${foldFolder(common.resultsDatasetDir, { trainer: o.trainer, plans: o.plans, configuration }, f)}`);
  });
}

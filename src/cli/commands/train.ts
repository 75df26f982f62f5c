import { Command, Option } from 'commander';
import { train } from '../../training/trainer.js';
import { validateFold } from '../../inference/validate-fold.js';
import { addFolderOptions, datasetName, folder, type FolderOptions } from '../folders.js';
import { device, fold, nonNegativeInt, nonNegativeNumber, positiveInt } from '../parse.js';

interface TrainCliOptions extends FolderOptions {
  plans: string;
  numEpochs: number;
  iterationsPerEpoch: number;
  valIterations: number;
  seed: number;
  device: string;
  saveEvery: number;
  c?: boolean;
  allowScheduleChange?: boolean;
  pretrainedWeights?: string;
  warmupEpochs: number;
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

export function trainCommand(): Command {
  const cmd = new Command('train')
    .description('Train a U-Net on preprocessed data (nnUNetv2_train), with early stopping and exact resume')
    .argument('<dataset>', 'dataset id (4) or name (Dataset004_Hippocampus)')
    .argument('<configuration>', 'plans configuration: 2d, 3d_fullres, 3d_lowres')
    .argument('<fold>', "fold 0-4 of splits_final.json, or 'all'", fold)
    .option('-p, --plans <name>', 'plans identifier', 'nnUNetPlans')
    .option('--num-epochs <n>', 'epochs (nnU-Net: 1000)', positiveInt, 1000)
    .option('--iterations-per-epoch <n>', 'training iterations per epoch', positiveInt, 250)
    .option('--val-iterations <n>', 'validation iterations per epoch (pseudo Dice)', positiveInt, 50)
    .option('--seed <n>', 'seed of every random draw (weights, sampling, augmentation)', nonNegativeInt, 12345)
    .option('--device <device>', 'cpu, cuda or cuda:N', device, 'cpu')
    .option('--save-every <n>', 'write checkpoint_latest every n epochs (nnU-Net: 50)', positiveInt, 1)
    .option('--c', 'continue from the newest valid checkpoint of this fold')
    .option('--allow-schedule-change', 'with --c: accept a different epoch count, iterations, plans or fold')
    .option('--pretrained-weights <file>', 'initialize from an nnunet-ts or nnU-Net checkpoint (segmentation heads skipped)')
    .option('--warmup-epochs <k>', 'linear LR warmup epochs before the poly schedule (fine-tuning)', nonNegativeInt, 0)
    .option('--early-stopping-patience <n>', 'stop after n epochs without improvement (off by default)', positiveInt)
    .option('--early-stopping-min-delta <d>', 'improvement smaller than this does not count', nonNegativeNumber, 0)
    .addOption(new Option('--early-stopping-metric <metric>', 'monitored value (max for Dice, min for loss)').choices(['ema_fg_dice', 'mean_fg_dice', 'val_loss']).default('ema_fg_dice'))
    .option('--early-stopping-anneal <k>', 'on trigger, first run k epochs with the LR falling linearly to 0', nonNegativeInt, 0)
    .option('--num-workers <n>', 'background data-augmentation threads', nonNegativeInt, 1)
    .option('--val', 'only run the final validation (needs checkpoint_final.pth)')
    .option('--val-best', 'validate with checkpoint_best.pth instead of checkpoint_final.pth')
    .option('--npz', 'also save softmax probabilities of the validation cases')
    .option('--no-progress', 'no progress bar');
  return addFolderOptions(cmd).action(async (dataset: string, configuration: string, f: number | 'all', o: TrainCliOptions) => {
    const name = await datasetName(dataset, o, 'preprocessed');
    const common = { preprocessedDatasetDir: folder('preprocessed', o, name), resultsDatasetDir: folder('results', o, name), configuration, fold: f, plansName: o.plans };
    if (!o.val) {
      const result = await train({
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
        earlyStopping: o.earlyStoppingPatience ? { patience: o.earlyStoppingPatience, minDelta: o.earlyStoppingMinDelta, metric: o.earlyStoppingMetric, annealEpochs: o.earlyStoppingAnneal } : undefined,
        numWorkers: o.numWorkers,
        progressBar: o.progress && process.stderr.isTTY,
      });
      if (result.interrupted) {
        process.exitCode = result.interrupted === 'SIGINT' ? 130 : 143;
        return;
      }
    }
    const summary = await validateFold({ ...common, checkpointName: o.valBest ? 'checkpoint_best.pth' : 'checkpoint_final.pth', saveProbabilities: o.npz ?? false, device: o.device, echo: (l) => console.log(l) });
    console.log(`Validation: mean foreground Dice ${summary.foreground_mean.Dice.toFixed(4)} (${summary.metric_per_case.length} cases)`);
  });
}

import { existsSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { UserError } from '../../errors.js';
import { generateSyntheticDataset } from '../demo/synthetic-dataset.js';
import { diceReport, evaluateWithDatasetJson } from '../evaluate-dataset.js';
import { nonNegativeInt, positiveInt } from '../parse.js';
import { progressBar } from '../progress.js';
import { trainingProgressBar } from '../training-progress.js';

interface DemoOptions {
  output: string;
  dataset?: string;
  seed: number;
  numEpochs: number;
  iterationsPerEpoch: number;
  valIterations: number;
  patience: number;
  configuration: string;
  numWorkers: number;
  progress: boolean;
}

export function demoCommand(): Command {
  return new Command('demo')
    .summary('generate data, plan, preprocess, train, predict and evaluate in one go')
    .description('From nothing to a trained model: generate a small 3D dataset (or take --dataset), plan, preprocess, train with early stopping, predict held-out cases, print a Dice table. The default budget takes under 10 minutes on 2 CPU cores and reaches a foreground Dice of about 0.9; output is the same for the same --seed')
    .option('-o, --output <dir>', 'folder for nnUNet_raw, nnUNet_preprocessed, nnUNet_results and predictions', 'nnunet_demo')
    .option('--dataset <dir>', "run on your own raw dataset folder (DatasetXXX_Name with imagesTr, labelsTr, dataset.json) instead of generated data; held-out cases are imagesTs with labelsTs when present")
    .option('--seed <n>', 'seed of the generated data and of training', nonNegativeInt, 12345)
    .option('--num-epochs <n>', 'training budget: epochs', positiveInt, 20)
    .option('--iterations-per-epoch <n>', 'training budget: iterations per epoch', positiveInt, 12)
    .option('--val-iterations <n>', 'validation iterations per epoch', positiveInt, 4)
    .option('--patience <n>', 'early-stopping patience in epochs (on the EMA pseudo Dice)', positiveInt, 8)
    .option('-c, --configuration <name>', 'configuration to train', '3d_fullres')
    .option('--num-workers <n>', 'background data-augmentation threads', nonNegativeInt, 1)
    .option('--no-progress', 'no progress bars (default: bars on a terminal, plain lines otherwise)')
    .action(async (o: DemoOptions) => {
      const started = Date.now();
      // libtorch loads when the command runs, not at startup: --help and usage errors answer at once
      const [{ planAndPreprocess }, { train }, { predictCases }] = await Promise.all([
        import('../../preprocessing/plan-and-preprocess.js'),
        import('../../training/trainer.js'),
        import('../../inference/predictor.js'),
      ]);
      const root = path.resolve(o.output);
      const dirs = { raw: path.join(root, 'nnUNet_raw'), preprocessed: path.join(root, 'nnUNet_preprocessed'), results: path.join(root, 'nnUNet_results') };
      let datasetName: string;
      let rawDatasetDir: string;
      if (o.dataset) {
        rawDatasetDir = path.resolve(o.dataset);
        datasetName = path.basename(rawDatasetDir);
        if (!/^Dataset\d{3}_/.test(datasetName)) throw new UserError(`${rawDatasetDir}: the folder must be named DatasetXXX_Name (nnU-Net's raw layout)`);
        dirs.raw = path.dirname(rawDatasetDir);
      } else {
        console.log(`[1/5] generating a synthetic dataset in ${dirs.raw}`);
        const generated = await generateSyntheticDataset({ rawDir: dirs.raw, seed: o.seed });
        datasetName = generated.datasetName;
        rawDatasetDir = generated.datasetDir;
      }

      console.log(`[2/5] planning and preprocessing ${datasetName}`);
      const pp = progressBar('preprocess', o.progress);
      await planAndPreprocess({
        datasetId: datasetName,
        dirs,
        verifyIntegrity: true,
        // the raw data may have changed since an earlier run into the same folder (another --seed)
        clean: true,
        configurations: [o.configuration],
        numProcesses: 2,
        onPreprocessProgress: (p) => pp.update(p.done, p.total, p.configuration),
      });
      pp.stop();

      console.log(`[3/5] training ${o.configuration} fold 0 (≤ ${o.numEpochs} epochs × ${o.iterationsPerEpoch} iterations, early stopping patience ${o.patience})`);
      const result = await train({
        preprocessedDatasetDir: path.join(dirs.preprocessed, datasetName),
        resultsDatasetDir: path.join(dirs.results, datasetName),
        configuration: o.configuration,
        fold: 0,
        numEpochs: o.numEpochs,
        iterationsPerEpoch: o.iterationsPerEpoch,
        valIterations: o.valIterations,
        seed: o.seed,
        earlyStopping: { patience: o.patience, metric: 'ema_fg_dice', minDelta: 0 },
        numWorkers: o.numWorkers,
        callbacks: o.progress && process.stderr.isTTY ? [trainingProgressBar()] : [],
      });
      if (result.interrupted) {
        process.exitCode = result.interrupted === 'SIGINT' ? 130 : 143;
        return;
      }

      const testImages = path.join(rawDatasetDir, 'imagesTs');
      const testLabels = path.join(rawDatasetDir, 'labelsTs');
      if (!existsSync(testImages)) {
        console.log(`no imagesTs in ${rawDatasetDir}: skipping prediction and evaluation`);
        return;
      }
      const predictions = path.join(root, 'predictions');
      console.log(`[4/5] predicting held-out cases into ${predictions}`);
      const bar = progressBar('predict', o.progress);
      const model = path.dirname(result.outputFolder);
      await predictCases({ inputFolder: testImages, outputFolder: predictions, modelFolder: model, folds: [0], overwrite: true, onProgress: (e) => bar.update(e.index + 1, e.total, e.caseId) });
      bar.stop();

      if (!existsSync(testLabels)) {
        console.log(`no labelsTs in ${rawDatasetDir}: skipping evaluation`);
        return;
      }
      console.log('[5/5] evaluating against the held-out labels');
      const { summary, datasetJson } = await evaluateWithDatasetJson(testLabels, predictions, path.join(rawDatasetDir, 'dataset.json'));
      console.log(diceReport(summary, datasetJson, true));
      const fold0 = path.join(model, 'fold_0');
      console.log(
        [
          `done in ${((Date.now() - started) / 1000).toFixed(0)} s: ${result.epochs} epochs${result.stoppedEarly ? ' (stopped early)' : ''}, best EMA pseudo Dice ${result.bestEma?.toFixed(4)} at epoch ${result.bestEpoch}`,
          `model:        ${model}`,
          `checkpoints:  ${path.join(fold0, 'checkpoint_final.pth')}, ${path.join(fold0, 'checkpoint_best.pth')}`,
          `progress.png: ${path.join(fold0, 'progress.png')}`,
          `predictions:  ${predictions}`,
          `summary.json: ${path.join(predictions, 'summary.json')}`,
        ].join('\n'),
      );
    });
}

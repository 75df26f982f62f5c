// `nnunet train`: the training loop. It stays short on purpose: the schedule, the metric logger, early stopping,
// checkpoint selection, the progress plot and the log file are separate units it calls.
import { existsSync } from 'node:fs';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import cliProgress from 'cli-progress';
import { UserError } from '../errors.js';
import { BatchLoader } from '../data/batch-loader.js';
import { type Fold, foldCases, loadOrCreateSplits } from '../data/splits.js';
import { architectureFromPlans } from '../network/architecture.js';
import { PlainConvUNet } from '../network/plain-conv-unet.js';
import { type Configuration, type Plans, readPlansFile, resolveConfiguration } from '../planning/plans-schema.js';
import { loadDatasetJson, type DatasetJson } from '../planning/dataset-json.js';
import { listPreprocessedCases } from '../preprocessing/preprocessed-store.js';
import { Generator, assertDeviceAvailable, dispose, type Tensor } from '../torch/index.js';
import { augmentationFor } from './augmentation-config.js';
import { type CheckpointContent, ResumeStateSchema, optimizerStateFromFile, readCheckpoint, saveCheckpoint } from './checkpoint.js';
import { type ScheduleSettings, checkScheduleCompatibility, scheduleMismatchMessage, selectCheckpoint } from './checkpoint-selection.js';
import { EarlyStopping, type EarlyStoppingMetric } from './early-stopping.js';
import { LrSchedule } from './lr-schedule.js';
import { MetricLogger } from './metric-logger.js';
import { writeProgressPlot } from './progress-plot.js';
import { loadPretrainedWeights } from './pretrained-weights.js';
import { TrainingLog } from './training-log.js';
import { createOptimizer, trainStep, validationStep } from './train-step.js';
import { stopRequest } from './stop-signal.js';

export interface TrainOptions {
  /** nnUNet_preprocessed/DatasetXXX_Name */
  preprocessedDatasetDir: string;
  /** nnUNet_results/DatasetXXX_Name */
  resultsDatasetDir: string;
  configuration: string;
  fold: Fold;
  plansName?: string;
  numEpochs?: number;
  iterationsPerEpoch?: number;
  valIterations?: number;
  initialLr?: number;
  seed?: number;
  device?: string;
  saveEvery?: number;
  continueTraining?: boolean;
  allowScheduleChange?: boolean;
  pretrainedWeights?: string;
  warmupEpochs?: number;
  earlyStopping?: { patience: number; minDelta?: number; metric?: EarlyStoppingMetric; annealEpochs?: number };
  numWorkers?: number;
  progressBar?: boolean;
  /** console echo of log lines (default console.log) */
  echo?: (line: string) => void;
}

export interface TrainResult {
  outputFolder: string;
  /** epochs completed (the next epoch to run) */
  epochs: number;
  stoppedEarly: boolean;
  interrupted: null | 'SIGINT' | 'SIGTERM';
  bestEma: number | null;
  bestEpoch: number | null;
}

export function modelFolder(resultsDatasetDir: string, plansName: string, configuration: string): string {
  return path.join(resultsDatasetDir, `nnUNetTrainer__${plansName}__${configuration}`);
}
export function foldFolder(resultsDatasetDir: string, plansName: string, configuration: string, fold: Fold): string {
  return path.join(modelFolder(resultsDatasetDir, plansName, configuration), `fold_${fold}`);
}

interface Setup {
  plans: Plans;
  config: Configuration;
  datasetJson: DatasetJson;
  numClasses: number;
  inputChannels: number;
  network: PlainConvUNet;
  mirrorAxes: number[];
}

export async function loadSetup(preprocessedDatasetDir: string, plansName: string, configuration: string, seed: number): Promise<Setup> {
  const plans = await readPlansFile(path.join(preprocessedDatasetDir, `${plansName}.json`));
  const config = resolveConfiguration(plans, configuration);
  const datasetJson = await loadDatasetJson(path.join(preprocessedDatasetDir, 'dataset.json'));
  const numClasses = Object.keys(datasetJson.labels).length;
  const inputChannels = Object.keys(datasetJson.channel_names).length;
  const arch = architectureFromPlans(config.architecture.arch_kwargs as never, inputChannels, numClasses);
  const network = new PlainConvUNet(arch).initialize(new Generator(seed));
  return { plans, config, datasetJson, numClasses, inputChannels, network, mirrorAxes: augmentationFor(config).mirrorAxes };
}

export async function train(options: TrainOptions): Promise<TrainResult> {
  const plansName = options.plansName ?? 'nnUNetPlans';
  const numEpochs = options.numEpochs ?? 1000;
  const iterations = options.iterationsPerEpoch ?? 250;
  const valIterations = options.valIterations ?? 50;
  const seed = options.seed ?? 12345;
  const device = options.device ?? 'cpu';
  const saveEvery = options.saveEvery ?? 1;
  assertDeviceAvailable(device);
  if (options.continueTraining && options.pretrainedWeights) {
    throw new UserError('--c and --pretrained-weights cannot be combined: a resumed run takes its weights from its checkpoint');
  }

  const out = foldFolder(options.resultsDatasetDir, plansName, options.configuration, options.fold);
  await mkdir(out, { recursive: true });
  const log = new TrainingLog(out, options.echo);
  const setup = await loadSetup(options.preprocessedDatasetDir, plansName, options.configuration, seed);
  const { config, network, numClasses } = setup;
  const dataDir = path.join(options.preprocessedDatasetDir, config.data_identifier);
  const identifiers = await listPreprocessedCases(dataDir);
  if (identifiers.length === 0) throw new UserError(`${dataDir}: no preprocessed cases: run \`nnunet plan-and-preprocess\` first`);
  const splits = await loadOrCreateSplits(options.preprocessedDatasetDir, identifiers);
  const cases = foldCases(splits, options.fold, identifiers);
  for (const f of ['dataset.json', `${plansName}.json`, 'dataset_fingerprint.json']) {
    const src = path.join(options.preprocessedDatasetDir, f);
    if (existsSync(src)) await copyFile(src, path.join(path.dirname(out), f === `${plansName}.json` ? 'plans.json' : f));
  }
  if (device !== 'cpu') network.to(device as 'cuda');

  const schedule: ScheduleSettings = {
    num_epochs: numEpochs,
    num_iterations_per_epoch: iterations,
    num_val_iterations_per_epoch: valIterations,
    plans_identifier: plansName,
    configuration: options.configuration,
    fold: options.fold,
  };
  const optimizer = createOptimizer(network.parameters(), options.initialLr);
  const logger = new MetricLogger();
  const earlyStopping = options.earlyStopping
    ? new EarlyStopping({ patience: options.earlyStopping.patience, minDelta: options.earlyStopping.minDelta ?? 0, metric: options.earlyStopping.metric ?? 'ema_fg_dice', annealEpochs: options.earlyStopping.annealEpochs ?? 0 })
    : null;
  let warmupEpochs = options.warmupEpochs ?? 0;
  let epoch = 0;
  // a checkpoint written on SIGINT/SIGTERM stops inside an epoch: resume there
  let startIteration = 0;
  let partialLossSum = 0;

  if (options.continueTraining) {
    const choice = await selectCheckpoint(['checkpoint_final.pth', 'checkpoint_latest.pth', 'checkpoint_best.pth'].map((f) => path.join(out, f)), readCheckpoint);
    if (!choice) log.print(`WARNING: --c given but no checkpoint in ${out}: starting a new training`);
    else {
      for (const w of choice.warnings) log.print(`WARNING: ${w}`);
      const ckpt = choice.meta;
      const resume = ResumeStateSchema.safeParse(ckpt.nnunet_ts);
      if (!resume.success) throw new UserError(`${choice.path}: not written by nnunet-ts (no resume state); use --pretrained-weights to start from its weights`);
      const diffs = checkScheduleCompatibility(resume.data.schedule as ScheduleSettings, schedule);
      if (diffs.length && !options.allowScheduleChange) throw new UserError(scheduleMismatchMessage(choice.path, diffs));
      network.loadStateDict(ckpt.network_weights as Record<string, Tensor>);
      optimizer.loadStateDict(optimizerStateFromFile(ckpt.optimizer_state));
      logger.loadStateDict(ckpt.logging);
      if (earlyStopping && resume.data.early_stopping) earlyStopping.loadStateDict(resume.data.early_stopping);
      warmupEpochs = resume.data.warmup_epochs;
      epoch = ckpt.current_epoch;
      startIteration = resume.data.resume_iteration ?? 0;
      partialLossSum = resume.data.partial_train_loss_sum ?? 0;
      dispose(ckpt);
      log.print(`Resuming from ${path.basename(choice.path)} at epoch ${epoch}${startIteration ? `, iteration ${startIteration}` : ''}`);
    }
  } else if (options.pretrainedWeights) {
    await loadPretrainedWeights(network, options.pretrainedWeights);
    log.print(`Loaded pretrained weights from ${options.pretrainedWeights} (segmentation heads skipped)`);
  }
  const lrSchedule = new LrSchedule({ initialLr: options.initialLr ?? 1e-2, numEpochs, warmupEpochs });

  const finished = epoch >= numEpochs || earlyStopping?.stopped === true;
  if (finished) {
    log.print(`Training already finished (epoch ${epoch} of ${numEpochs}${earlyStopping?.stopped ? ', stopped early' : ''}): nothing to do`);
    return { outputFolder: out, epochs: epoch, stoppedEarly: earlyStopping?.stopped ?? false, interrupted: null, bestEma: logger.bestEma, bestEpoch: logger.bestEpoch };
  }

  const aug = augmentationFor(config);
  const loaderConfig = {
    preprocessedDir: dataDir,
    batchSize: config.batch_size,
    patchSize: config.patch_size,
    oversampleForeground: 0.33,
    seed,
    augmentation: aug,
  };
  const numWorkers = options.numWorkers ?? 1;
  const trainLoader = new BatchLoader({ ...loaderConfig, caseIds: cases.train, stream: 'train' }, { numWorkers, startIndex: epoch * iterations + startIteration });
  const valLoader = new BatchLoader({ ...loaderConfig, caseIds: cases.val, stream: 'val' }, { numWorkers: Math.min(numWorkers, 1), startIndex: epoch * valIterations });
  const loss = { batchDice: config.batch_dice };
  const stop = stopRequest();
  let interruptedAt = '';
  let stoppedEarly = false;

  /** nextEpoch: the epoch a resume starts; iteration/lossSum: where inside it (0 at epoch ends). */
  const checkpoint = (file: string, nextEpoch: number, iteration = 0, lossSum = 0): Promise<void> => {
    const content: CheckpointContent = {
      networkWeights: network.stateDict(),
      optimizerState: optimizer.stateDict(),
      logging: logger.stateDict(),
      bestEma: logger.bestEma,
      bestEpoch: logger.bestEpoch,
      currentEpoch: nextEpoch,
      resumeIteration: iteration,
      partialTrainLossSum: lossSum,
      initArgs: { plans: setup.plans, configuration: options.configuration, fold: options.fold, dataset_json: setup.datasetJson, device },
      mirrorAxes: setup.mirrorAxes,
      earlyStopping: earlyStopping ? earlyStopping.stateDict() : null,
      schedule,
      seed,
      trainBatchIndex: trainLoader.position,
      valBatchIndex: valLoader.position,
      warmupEpochs,
      numEpochsRequested: numEpochs,
    };
    return saveCheckpoint(path.join(out, file), content);
  };

  log.print(`Training ${options.configuration} fold ${options.fold}: ${cases.train.length} training and ${cases.val.length} validation cases, ${numEpochs} epochs × ${iterations} iterations, batch ${config.batch_size}, patch [${config.patch_size}], device ${device}`);
  const bar = options.progressBar ?? process.stderr.isTTY
    ? new cliProgress.SingleBar({ format: 'epoch {epoch} |{bar}| {value}/{total} it | loss {loss} | ETA {eta_formatted}', hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic)
    : null;

  try {
    for (; epoch < numEpochs; epoch++) {
      logger.log('epoch_start_timestamps', Date.now() / 1000, epoch);
      const lr = lrSchedule.lrAt(epoch, earlyStopping ?? undefined);
      optimizer.lr = lr;
      logger.log('lrs', lr, epoch);
      log.print(`Epoch ${epoch}`);
      log.print(`Current learning rate: ${lr.toFixed(5)}`);
      network.train();
      network.deepSupervision = true;
      bar?.start(iterations, startIteration, { epoch, loss: '-' });
      let lossSum = partialLossSum;
      for (let it = startIteration; it < iterations; it++) {
        // one event-loop turn per iteration: Node reclaims freed tensors' wrapper objects only then
        await new Promise((resolve) => setImmediate(resolve));
        const l = trainStep(network, optimizer, await trainLoader.next(), numClasses, loss, device);
        lossSum += l;
        bar?.update(it + 1, { epoch, loss: l.toFixed(4) });
        if (stop.signal && it + 1 < iterations) {
          bar?.stop();
          interruptedAt = `during epoch ${epoch}, after iteration ${it + 1} of ${iterations}`;
          await checkpoint('checkpoint_latest.pth', epoch, it + 1, lossSum);
          break;
        }
      }
      startIteration = 0;
      partialLossSum = 0;
      bar?.stop();
      if (stop.signal && trainLoader.position < (epoch + 1) * iterations) break;
      logger.log('train_losses', lossSum / iterations, epoch);

      network.eval();
      const tp = new Array<number>(numClasses - 1).fill(0);
      const fp = [...tp];
      const fn = [...tp];
      let valLoss = 0;
      for (let it = 0; it < valIterations; it++) {
        const r = validationStep(network, await valLoader.next(), numClasses, loss, device);
        valLoss += r.loss;
        r.tp.forEach((v, c) => {
          tp[c] += v;
          fp[c] += r.fp[c];
          fn[c] += r.fn[c];
        });
      }
      const dice = tp.map((t, c) => (t + fp[c] + fn[c] === 0 ? Number.NaN : (2 * t) / (2 * t + fp[c] + fn[c])));
      const finite = dice.filter((d) => !Number.isNaN(d));
      const meanDice = finite.length ? finite.reduce((a, b) => a + b, 0) / finite.length : Number.NaN;
      logger.log('val_losses', valLoss / valIterations, epoch);
      logger.log('dice_per_class_or_region', dice, epoch);
      logger.log('mean_fg_dice', meanDice, epoch);
      logger.log('epoch_end_timestamps', Date.now() / 1000, epoch);
      const state = logger.stateDict();
      log.print(`train_loss ${state.train_losses[epoch].toFixed(4)}`);
      log.print(`val_loss ${state.val_losses[epoch].toFixed(4)}`);
      log.print(`Pseudo dice [${dice.map((d) => d.toFixed(4)).join(', ')}]`);
      log.print(`Epoch time: ${(state.epoch_end_timestamps[epoch] - state.epoch_start_timestamps[epoch]).toFixed(2)} s`);

      const action = earlyStopping ? earlyStopping.update(epoch, earlyStopping.stateDict().metric === 'val_loss' ? state.val_losses[epoch] : earlyStopping.stateDict().metric === 'mean_fg_dice' ? meanDice : state.ema_fg_dice[epoch], lr) : 'continue';
      const isBest = logger.checkBest(epoch);
      if ((epoch + 1) % saveEvery === 0 || action === 'stop' || stop.signal) await checkpoint('checkpoint_latest.pth', epoch + 1);
      if (isBest) {
        log.print(`Yayy! New best EMA pseudo Dice: ${(logger.bestEma ?? 0).toFixed(4)}`);
        await checkpoint('checkpoint_best.pth', epoch + 1);
      }
      await writeProgressPlot(logger.stateDict(), path.join(out, 'progress.png'));
      if (action === 'anneal') log.print(earlyStopping?.triggerMessage() ?? '');
      if (action === 'stop') {
        if (earlyStopping && !earlyStopping.annealing && earlyStopping.annealStartEpoch === null) log.print(earlyStopping.triggerMessage());
        log.print(earlyStopping?.stopMessage() ?? 'early stopping');
        stoppedEarly = true;
        epoch++;
        break;
      }
      if (stop.signal) {
        epoch++;
        break;
      }
    }
  } finally {
    bar?.stop();
    await trainLoader.close();
    await valLoader.close();
    stop.dispose();
  }

  const interrupted = stop.signal;
  if (interrupted) {
    log.print(`Interrupted by ${interrupted} ${interruptedAt || `after epoch ${epoch - 1}`}: state saved in checkpoint_latest.pth. Resume with the same command plus --c`);
  } else {
    await checkpoint('checkpoint_final.pth', epoch);
    await rm(path.join(out, 'checkpoint_latest.pth'), { force: true });
    log.print(`Training done after ${epoch} epochs. Best EMA pseudo Dice ${logger.bestEma?.toFixed(4) ?? 'n/a'} at epoch ${logger.bestEpoch ?? 'n/a'}`);
  }
  optimizer.dispose();
  network.dispose();
  return { outputFolder: out, epochs: epoch, stoppedEarly, interrupted, bestEma: logger.bestEma, bestEpoch: logger.bestEpoch };
}

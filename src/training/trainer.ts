// `nnunet train`: resolve the recipe and the options, build the network, restore a checkpoint on --c, run the loop
// (loop.ts) with its callbacks, and write checkpoint_final.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { BatchLoader } from '../data/batch-loader.js';
import { previousStageFolderFor } from '../data/previous-stage.js';
import { foldCases, loadOrCreateSplits } from '../data/splits.js';
import { UserError } from '../errors.js';
import { injectedNonFiniteSteps } from '../fault-injection.js';
import { linkFileAtomic, writeFileAtomic } from '../atomic-write.js';
import { acquireFolderLock } from '../io/folder-lock.js';
import { type CheckpointFile, type ResumeState, type ScheduleSettings, optimizerStateFromFile, readCheckpoint, resumeStateOf, saveCheckpoint } from '../model/checkpoint.js';
import { CHECKPOINT_FILES, DEFAULT_PLANS, type Fold, foldFolder } from '../model/model-folder.js';
import { type SegmentationNetwork } from '../model/network-registry.js';
import { type DatasetJson, loadDatasetJson, numChannels } from '../planning/dataset-json.js';
import { type LabelManager, labelManagerFrom } from '../planning/labels.js';
import { type Configuration, type Plans, readPlansFile, resolveConfiguration } from '../planning/plans-schema.js';
import { listPreprocessedCases } from '../preprocessing/preprocessed-store.js';
import { type Device, Generator, ampDefault, assertDeviceAvailable, dispose, type Tensor } from '../torch/index.js';
import { GradScaler } from './amp/grad-scaler.js';
import { augmentationFor } from './augmentation-config.js';
import { BestCheckpointCallback } from './callbacks/best-checkpoint.js';
import type { CheckpointKind, TrainingCallback, TrainingContext } from './callbacks/callback.js';
import { EarlyStoppingCallback } from './callbacks/early-stopping.js';
import { ProgressPlotCallback } from './callbacks/progress-plot.js';
import { TrainingLogCallback } from './callbacks/training-log.js';
import { checkScheduleCompatibility, scheduleMismatchMessage, selectCheckpoint } from './checkpoint-selection.js';
import type { EarlyStoppingMetric } from './early-stopping.js';
import { TrainerEvents } from './events.js';
import { type LoopState, runLoop } from './loop.js';
import { MetricLogger } from './metric-logger.js';
import { loadPretrainedWeights } from './pretrained-weights.js';
import { nnUNetTrainer, type TrainerRecipe } from './recipes/recipe.js';
import { resolveRecipe } from './recipes/registry.js';
import { stopRequest } from './stop-signal.js';
import { SingleProcessStrategy, type Strategy } from './strategy/strategy.js';

export const DEFAULT_SEED = 12345;
export const DEFAULT_MAX_NONFINITE_STEPS = 50;

/** Training stopped because too many consecutive steps had a non-finite loss or gradients. */
export class TrainingDivergedError extends UserError {}


export interface TrainOptions {
  /** nnUNet_preprocessed/DatasetXXX_Name */
  preprocessedDatasetDir: string;
  /** nnUNet_results/DatasetXXX_Name */
  resultsDatasetDir: string;
  configuration: string;
  fold: Fold;
  /** `-tr`: a recipe name (built-in or from nnUNet_extTrainer) or a recipe; default nnUNetTrainer. */
  trainer?: string | TrainerRecipe;
  plansName?: string;
  /** Budget overrides; unset, the recipe's values apply. */
  numEpochs?: number;
  iterationsPerEpoch?: number;
  valIterations?: number;
  initialLr?: number;
  /** Unset: 12345 for a new run, the saved seed on --c. */
  seed?: number;
  device?: Device;
  /**
   * Mixed precision, as nnU-Net: autocast (float16) and dynamic loss scaling. Only takes effect on CUDA (ampDefault);
   * false trains in float32 there too. Default true.
   */
  amp?: boolean;
  /** cuDNN's deterministic algorithms, no benchmarking: repeatable GPU runs, slower. No effect on CPU. Default false. */
  deterministic?: boolean;
  saveEvery?: number;
  continueTraining?: boolean;
  allowScheduleChange?: boolean;
  pretrainedWeights?: string;
  /** Unset: the recipe's (nnUNetTrainer_warmup: 50). */
  warmupEpochs?: number;
  earlyStopping?: { patience: number; minDelta?: number; metric?: EarlyStoppingMetric; annealEpochs?: number };
  /** Consecutive non-finite steps (skipped) after which training stops with TrainingDivergedError (default 50). */
  maxNonFiniteSteps?: number;
  numWorkers?: number;
  /** Extra callbacks (after the built-in ones: log, early stopping, best checkpoint, plot). */
  callbacks?: TrainingCallback[];
  /** Subscribe here to follow the run (iteration, epoch, validation, checkpoint, stop, log). */
  events?: TrainerEvents;
  strategy?: Strategy;
  /** console echo of log lines (default console.log) */
  echo?: (line: string) => void;
}

export interface TrainResult {
  outputFolder: string;
  trainer: string;
  /** epochs completed (the next epoch to run) */
  epochs: number;
  stoppedEarly: boolean;
  interrupted: null | 'SIGINT' | 'SIGTERM';
  bestEma: number | null;
  bestEpoch: number | null;
}

export interface TrainingSetup {
  plans: Plans;
  config: Configuration;
  datasetJson: DatasetJson;
  labels: LabelManager;
  inputChannels: number;
  recipe: TrainerRecipe;
  network: SegmentationNetwork;
  /** Training and test-time mirror axes; null: none (the checkpoint stores None). */
  mirrorAxes: number[] | null;
}

/** Plans, dataset.json, labels and the recipe's network for one configuration, initialized from `seed`. */
export async function loadSetup(preprocessedDatasetDir: string, plansName: string, configuration: string, seed: number, recipe: TrainerRecipe = nnUNetTrainer): Promise<TrainingSetup> {
  const plansFile = path.join(preprocessedDatasetDir, `${plansName}.json`);
  const plans = await readPlansFile(plansFile);
  const config = resolveConfiguration(plans, configuration, plansFile);
  if (config.previous_stage !== undefined && !(config.previous_stage in plans.configurations)) {
    throw new UserError(`${plansFile}: configuration '${configuration}' is a cascade stage with previous_stage '${config.previous_stage}', a configuration these plans do not define`);
  }
  const datasetJsonFile = path.join(preprocessedDatasetDir, 'dataset.json');
  const datasetJson = await loadDatasetJson(datasetJsonFile);
  const labels = labelManagerFrom(datasetJson, datasetJsonFile);
  // a cascade stage also sees the previous stage's segmentation, one channel per foreground label (determine_num_input_channels)
  const inputChannels = numChannels(datasetJson) + (config.previous_stage === undefined ? 0 : labels.foregroundLabels.length);
  const network = recipe.buildNetwork({ configuration: config, inputChannels, numHeads: labels.numSegmentationHeads, source: plansFile }).initialize(new Generator(seed));
  const defaults = augmentationFor(config).mirrorAxes;
  return { plans, config, datasetJson, labels, inputChannels, recipe, network, mirrorAxes: recipe.mirrorAxes(defaults, config.patch_size) };
}

interface Resume {
  path: string;
  checkpoint: CheckpointFile;
  state: ResumeState;
}

/** --c: the newest valid checkpoint of the fold and its resume state, or null to start anew. */
async function findResume(out: string, print: (line: string) => void): Promise<Resume | null> {
  const choice = await selectCheckpoint([CHECKPOINT_FILES.final, CHECKPOINT_FILES.latest, CHECKPOINT_FILES.best].map((f) => path.join(out, f)), readCheckpoint);
  if (!choice) {
    print(`WARNING: --c given but no checkpoint in ${out}: starting a new training`);
    return null;
  }
  for (const w of choice.warnings) print(`WARNING: ${w}`);
  const state = resumeStateOf(choice.meta);
  if (!state) {
    dispose(choice.meta);
    throw new UserError(`${choice.path}: not written by nnunet-ts (no resume state); use --pretrained-weights to start from its weights`);
  }
  return { path: choice.path, checkpoint: choice.meta, state };
}

export async function train(options: TrainOptions): Promise<TrainResult> {
  const recipe = typeof options.trainer === 'string' ? await resolveRecipe(options.trainer) : (options.trainer ?? nnUNetTrainer);
  const plansName = options.plansName ?? DEFAULT_PLANS;
  const numEpochs = options.numEpochs ?? recipe.numEpochs;
  const iterations = options.iterationsPerEpoch ?? recipe.iterationsPerEpoch;
  const valIterations = options.valIterations ?? recipe.valIterations;
  const initialLr = options.initialLr ?? recipe.initialLr;
  const device: Device = options.device ?? 'cpu';
  const saveEvery = options.saveEvery ?? 1;
  const strategy = options.strategy ?? new SingleProcessStrategy();
  const events = options.events ?? new TrainerEvents();
  assertDeviceAvailable(device);
  if (options.continueTraining && options.pretrainedWeights) {
    throw new UserError('--c and --pretrained-weights cannot be combined: a resumed run takes its weights from its checkpoint');
  }

  const out = foldFolder(options.resultsDatasetDir, { trainer: recipe.name, plans: plansName, configuration: options.configuration }, options.fold);
  await mkdir(out, { recursive: true });
  // one writer per fold folder: a second `train` of the same fold (a forgotten tmux session) is refused
  // (rank 0 of a data-parallel run is the writer; the other ranks read)
  const lock = strategy.isMain ? await acquireFolderLock(out, { command: 'nnunet train' }) : null;
  const print = (line: string) => events.emit('log', { line });
  const callbacks: TrainingCallback[] = [new TrainingLogCallback(options.echo)];
  const earlyStopping = options.earlyStopping
    ? new EarlyStoppingCallback({ patience: options.earlyStopping.patience, minDelta: options.earlyStopping.minDelta ?? 0, metric: options.earlyStopping.metric ?? 'ema_fg_dice', annealEpochs: options.earlyStopping.annealEpochs ?? 0 })
    : null;
  if (earlyStopping) callbacks.push(earlyStopping);
  callbacks.push(new BestCheckpointCallback(), new ProgressPlotCallback(), ...(options.callbacks ?? []));
  const logger = new MetricLogger();
  let checkpointWriter: (kind: CheckpointKind) => Promise<void> = async () => {
    throw new Error('checkpoint requested before training started');
  };
  const ctx: TrainingContext = { outputFolder: out, numEpochs, iterationsPerEpoch: iterations, events, logger, isMain: strategy.isMain, print, saveCheckpoint: (kind) => checkpointWriter(kind) };
  try {
    for (const c of callbacks) await c.onTrainStart?.(ctx);
    const resume = options.continueTraining ? await findResume(out, print) : null;
    const seed = options.seed ?? resume?.state.schedule.seed ?? DEFAULT_SEED;
    const schedule: ScheduleSettings = {
      trainer: recipe.name,
      num_epochs: numEpochs,
      num_iterations_per_epoch: iterations,
      num_val_iterations_per_epoch: valIterations,
      plans_identifier: plansName,
      configuration: options.configuration,
      fold: options.fold,
      seed,
      world_size: strategy.worldSize,
    };
    if (resume) {
      const diffs = checkScheduleCompatibility(resume.state.schedule, schedule);
      if (diffs.length && !options.allowScheduleChange) {
        dispose(resume.checkpoint);
        throw new UserError(scheduleMismatchMessage(resume.path, diffs));
      }
    }
    return await trainWith({ options, recipe, out, schedule, resume, device, strategy, events, callbacks, logger, ctx, initialLr, valIterations, saveEvery, setWriter: (w) => (checkpointWriter = w) });
  } finally {
    for (const c of callbacks) await c.onTrainEnd?.(ctx);
    lock?.release();
  }
}

interface TrainWith {
  options: TrainOptions;
  recipe: TrainerRecipe;
  out: string;
  schedule: ScheduleSettings;
  resume: Resume | null;
  device: Device;
  strategy: Strategy;
  events: TrainerEvents;
  callbacks: TrainingCallback[];
  logger: MetricLogger;
  ctx: TrainingContext;
  initialLr: number;
  valIterations: number;
  saveEvery: number;
  setWriter(writer: (kind: CheckpointKind) => Promise<void>): void;
}

async function trainWith(t: TrainWith): Promise<TrainResult> {
  const { options, recipe, out, schedule, resume, device, strategy, events, callbacks, logger, ctx } = t;
  const setup = await loadSetup(options.preprocessedDatasetDir, schedule.plans_identifier, options.configuration, schedule.seed, recipe).catch((err) => {
    if (resume) dispose(resume.checkpoint);
    throw err;
  });
  const { config, network, labels } = setup;
  const optimizer = recipe.createOptimizer(network.parameters(), { ...recipe, initialLr: t.initialLr });
  try {
    const dataDir = path.join(options.preprocessedDatasetDir, config.data_identifier);
    const identifiers = await listPreprocessedCases(dataDir);
    if (identifiers.length === 0) throw new UserError(`${dataDir}: no preprocessed cases: run \`nnunet plan-and-preprocess\` first`);
    const splits = await loadOrCreateSplits(options.preprocessedDatasetDir, identifiers);
    const cases = foldCases(splits, options.fold, identifiers);
    const previousStageDir = config.previous_stage === undefined ? undefined : await previousStageFolderFor(
      options.resultsDatasetDir,
      { datasetName: path.basename(options.preprocessedDatasetDir), trainer: recipe.name, plans: schedule.plans_identifier },
      { configuration: options.configuration, previousStage: config.previous_stage },
      [...new Set([...cases.train, ...cases.val])],
      splits,
    );
    if (strategy.isMain) {
      for (const f of ['dataset.json', `${schedule.plans_identifier}.json`, 'dataset_fingerprint.json']) {
        const src = path.join(options.preprocessedDatasetDir, f);
        // atomically: a kill mid-copy must not leave predict a truncated plans.json
        if (existsSync(src)) await writeFileAtomic(path.join(path.dirname(out), f === `${schedule.plans_identifier}.json` ? 'plans.json' : f), await readFile(src));
      }
    }
    if (device !== 'cpu') network.to(device);

    let warmupEpochs = options.warmupEpochs ?? recipe.warmupEpochs;
    const state: LoopState = { epoch: 0, startIteration: 0, partialLossSum: 0, partialFiniteSteps: 0, nonfiniteStreak: 0 };
    // the loss scaler continues where the checkpoint left it (its scale has adapted to this run's gradients); a
    // checkpoint without one (float32 or CPU runs write None) starts a fresh scaler
    const useAmp = (options.amp ?? true) && ampDefault(device);
    let scaler: GradScaler | null = useAmp ? new GradScaler() : null;
    if (resume) {
      const ckpt = resume.checkpoint;
      try {
        const savedScaler = ckpt.grad_scaler_state;
        if (useAmp && savedScaler !== undefined && savedScaler !== null) scaler = GradScaler.fromState(savedScaler, resume.path);
        network.loadStateDict(ckpt.network_weights as Record<string, Tensor>);
        optimizer.loadStateDict(optimizerStateFromFile(ckpt.optimizer_state));
        logger.loadStateDict(ckpt.logging);
        for (const c of callbacks) {
          const saved = c.stateKey === undefined ? undefined : resume.state.callbacks[c.stateKey];
          if (saved !== undefined && saved !== null) c.loadStateDict?.(saved);
        }
      } finally {
        dispose(ckpt);
      }
      warmupEpochs = resume.state.warmup_epochs;
      state.epoch = ckpt.current_epoch;
      state.startIteration = resume.state.resume_iteration;
      state.partialLossSum = resume.state.partial_train_loss_sum;
      state.partialFiniteSteps = resume.state.partial_finite_steps;
      state.nonfiniteStreak = resume.state.nonfinite_streak;
      ctx.print(`Resuming from ${path.basename(resume.path)} at epoch ${state.epoch}${state.startIteration ? `, iteration ${state.startIteration}` : ''}`);
    } else if (options.pretrainedWeights) {
      await loadPretrainedWeights(network, options.pretrainedWeights, config.architecture.network_class_name);
      ctx.print(`Loaded pretrained weights from ${options.pretrainedWeights} (segmentation heads skipped)`);
    }
    // every rank starts from rank 0's weights (they are equal already when seeded alike; a cheap guarantee)
    strategy.broadcastParameters(network.parameters());
    const lrSchedule = recipe.lrSchedule({ initialLr: t.initialLr, numEpochs: schedule.num_epochs, warmupEpochs });
    const iterations = schedule.num_iterations_per_epoch;
    const result = (epochs: number, stoppedEarly: boolean, interrupted: TrainResult['interrupted']): TrainResult => ({ outputFolder: out, trainer: recipe.name, epochs, stoppedEarly, interrupted, bestEma: logger.bestEma, bestEpoch: logger.bestEpoch });

    // Weights and optimizer state are fixed by the position in the schedule (epoch, iteration): a checkpoint whose
    // other content equals the one just written (checkpoint_best and checkpoint_final right after an epoch end's checkpoint_latest) becomes a hard
    // link to that file instead of a second serialization.
    let lastWritten: { file: string; content: string } | null = null;
    const checkpoint = async (kind: CheckpointKind, nextEpoch: number, at: LoopState = state): Promise<void> => {
      if (!strategy.isMain) return;
      const file = path.join(out, `checkpoint_${kind}.pth`);
      const callbackStates = Object.fromEntries(callbacks.flatMap((c) => (c.stateKey && c.stateDict ? [[c.stateKey, c.stateDict()]] : [])));
      const resumeState = {
        schedule,
        resume_iteration: at.startIteration,
        partial_train_loss_sum: at.partialLossSum,
        partial_finite_steps: at.partialFiniteSteps,
        nonfinite_streak: at.nonfiniteStreak,
        warmup_epochs: warmupEpochs,
        callbacks: callbackStates,
      };
      const gradScalerState = scaler?.stateDict() ?? null;
      const logging = logger.stateDict();
      const content = JSON.stringify([optimizer.lr, nextEpoch, logging, logger.bestEma, gradScalerState, resumeState]);
      if (lastWritten?.content === content && existsSync(lastWritten.file)) await linkFileAtomic(lastWritten.file, file);
      else {
        await saveCheckpoint(file, {
          networkWeights: network.stateDict(),
          optimizerState: optimizer.stateDict(),
          logging,
          bestEma: logger.bestEma,
          currentEpoch: nextEpoch,
          initArgs: { plans: setup.plans, configuration: options.configuration, fold: options.fold, dataset_json: setup.datasetJson, device },
          trainerName: recipe.name,
          mirrorAxes: setup.mirrorAxes,
          gradScalerState,
          resume: resumeState,
        });
      }
      lastWritten = { file, content };
      events.emit('checkpoint', { kind, file, nextEpoch });
    };
    // callbacks save at epoch ends: as of the last epoch whose every metric is logged
    t.setWriter((kind) => checkpoint(kind, logger.completeEpoch + 1));

    /** checkpoint_final, then checkpoint_latest goes (it would only repeat final), as nnU-Net's on_train_end. */
    const finishTraining = async (epochs: number): Promise<void> => {
      await checkpoint('final', epochs);
      if (strategy.isMain) await rm(path.join(out, CHECKPOINT_FILES.latest), { force: true });
      // the other ranks go on (to the final validation) once checkpoint_final is on disk
      strategy.barrier();
    };
    const stoppedBefore = callbacks.some((c) => c.hasStopped?.() === true);
    if (state.epoch >= schedule.num_epochs || stoppedBefore) {
      ctx.print(`Training already finished (epoch ${state.epoch} of ${schedule.num_epochs}${stoppedBefore ? ', stopped early' : ''}): nothing to do`);
      // killed between its last checkpoint_latest and checkpoint_final: finish the end of training now, as upstream's on_train_end
      if (path.basename(resume?.path ?? '') !== CHECKPOINT_FILES.final) await finishTraining(state.epoch);
      events.emit('stop', { reason: 'already_finished', epochs: state.epoch, signal: null });
      return result(state.epoch, stoppedBefore, null);
    }

    const share = strategy.batchShare(config.batch_size);
    const aug = { ...augmentationFor(config), mirrorAxes: setup.mirrorAxes ?? [], previousStageLabels: previousStageDir === undefined ? undefined : [...labels.foregroundLabels] };
    const loaderConfig = {
      preprocessedDir: dataDir,
      batchSize: share.size,
      share: { rank: strategy.rank, worldSize: strategy.worldSize, offset: share.offset, globalBatchSize: share.globalBatchSize },
      patchSize: config.patch_size,
      oversampleForeground: recipe.oversampleForeground,
      seed: schedule.seed,
      augmentation: aug,
      augment: recipe.augment,
      previousStageDir,
    };
    const numWorkers = options.numWorkers ?? 1;
    const trainLoader = new BatchLoader({ ...loaderConfig, caseIds: cases.train, stream: 'train' }, { numWorkers, startIndex: state.epoch * iterations + state.startIteration });
    const valLoader = new BatchLoader({ ...loaderConfig, caseIds: cases.val, stream: 'val' }, { numWorkers: Math.min(numWorkers, 1), startIndex: state.epoch * t.valIterations });
    const stop = stopRequest();

    events.emit('start', { outputFolder: out, trainer: recipe.name, configuration: options.configuration, fold: options.fold, numEpochs: schedule.num_epochs, iterationsPerEpoch: iterations, startEpoch: state.epoch, startIteration: state.startIteration, resumedFrom: resume?.path ?? null });
    ctx.print(`Training ${options.configuration} fold ${options.fold} with ${recipe.name}: ${cases.train.length} training and ${cases.val.length} validation cases, ${schedule.num_epochs} epochs × ${iterations} iterations, batch ${config.batch_size}${strategy.worldSize > 1 ? ` over ${strategy.worldSize} ranks` : ''}, patch [${config.patch_size}], device ${device}`);
    let outcome;
    try {
      outcome = await runLoop(
        {
          network,
          optimizer,
          numHeads: labels.numSegmentationHeads,
          loss: {
            batchDice: config.batch_dice,
            smooth: recipe.diceSmooth,
            ignoreLabel: labels.ignoreLabel ?? undefined,
            regions: labels.regions ?? undefined,
            sumOverRanks: config.batch_dice && strategy.worldSize > 1 ? (t) => strategy.sumWithGradient(t) : undefined,
          },
          device,
          strategy,
          trainLoader,
          valLoader,
          valIterations: t.valIterations,
          saveEvery: t.saveEvery,
          lrAt: (epoch) => callbacks.reduce<number | null>((lr, c) => lr ?? c.lrOverride?.(epoch) ?? null, null) ?? lrSchedule.scheduled(epoch),
          callbacks,
          ctx,
          stop,
          maxNonFiniteSteps: options.maxNonFiniteSteps ?? DEFAULT_MAX_NONFINITE_STEPS,
          amp: scaler,
          deterministic: options.deterministic,
          injectNonFinite: injectedNonFiniteSteps(),
          checkpoint,
        },
        state,
      );
    } finally {
      await trainLoader.close();
      await valLoader.close();
      stop.dispose();
    }

    if (outcome.divergedAt !== null) {
      const message = `training stopped at iteration ${outcome.divergedAt} (epoch ${outcome.epochs}): ${state.nonfiniteStreak} consecutive steps had a non-finite loss or gradients and were skipped. checkpoint_latest.pth keeps the last finite state; no checkpoint_final.pth was written. Check the data (intensities, labels) or lower the learning rate, then start anew or resume with --c`;
      ctx.print(message);
      events.emit('stop', { reason: 'diverged', epochs: outcome.epochs, signal: null });
      throw new TrainingDivergedError(message);
    }
    // rank 0's signal: the ranks stopped together on it, even those the signal reached later
    const interrupted = strategy.broadcast(stop.signal);
    if (interrupted) {
      ctx.print(`Interrupted by ${interrupted} ${outcome.interruptedAt || `after epoch ${outcome.epochs - 1}`}: state saved in checkpoint_latest.pth. Resume with the same command plus --c`);
      events.emit('stop', { reason: 'interrupted', epochs: outcome.epochs, signal: interrupted });
      return result(outcome.epochs, false, interrupted);
    }
    await finishTraining(outcome.epochs);
    ctx.print(`Training done after ${outcome.epochs} epochs. Best EMA pseudo Dice ${logger.bestEma?.toFixed(4) ?? 'n/a'} at epoch ${logger.bestEpoch ?? 'n/a'}`);
    events.emit('stop', { reason: outcome.stoppedEarly ? 'stopped_early' : 'finished', epochs: outcome.epochs, signal: null });
    return result(outcome.epochs, outcome.stoppedEarly, null);
  } finally {
    optimizer.dispose();
    network.dispose();
  }
}

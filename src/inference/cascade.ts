// The cascade at inference: a stage's network input (with the previous stage's segmentation as one-hot channels for
// a cascade stage), the predictions a stage writes for its next stage during the final validation
// (perform_actual_validation → predicted_next_stage/), and, for `predict`, where the previous stage's predictions
// come from: a folder the user gives (-prev_stage_predictions) or the previous stage's model, run first.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { appendOneHot, listSome, nextStageFolder, readPreviousStageSegmentation, stageFlags, trainCommand, writeNextStageSegmentation } from '../data/previous-stage.js';
import { UserError } from '../errors.js';
import { type NiftiVolume, readNifti } from '../io/nifti.js';
import { readNpy } from '../io/npz.js';
import { CHECKPOINT_FILES, type Fold, detectFolds, modelFolderName, parseModelFolderName } from '../model/model-folder.js';
import { type Configuration, resolveConfiguration } from '../planning/plans-schema.js';
import type { StoredCase } from '../preprocessing/preprocessed-store.js';
import { resampleToShape } from '../preprocessing/resampling.js';
import { type Tensor, tidy } from '../torch/index.js';
import type { InputCase } from './input-files.js';
import type { LoadedModel } from './load-model.js';

/** The stage's next stages (plans' next_stage: one name or a list). */
function nextStages(config: Configuration): string[] {
  const n = config.next_stage;
  return n === undefined ? [] : Array.isArray(n) ? n : [n];
}

/** The folder of another configuration's model beside this one (same trainer and plans), as upstream names it. */
export function siblingModelFolder(modelDir: string, configuration: string): string {
  return path.join(path.dirname(modelDir), modelFolderName({ ...modelIdentity(modelDir), configuration }));
}

function modelIdentity(modelDir: string) {
  const id = parseModelFolderName(path.basename(modelDir));
  if (!id) throw new UserError(`${modelDir}: not a model folder named <trainer>__<plans>__<configuration>, so its other cascade stage cannot be found`);
  return id;
}

export interface StageLinks {
  /** The network input of a preprocessed case: its channels, plus the previous stage's one-hot channels for a cascade stage. */
  input(caseId: string, c: StoredCase): Promise<{ data: Float32Array; shape: number[] }>;
  /** For a stage with next stages: writes the case's segmentation for each into <model>/predicted_next_stage/<next>/. */
  writeNextStages(caseId: string, logits: Tensor): Promise<void>;
}

/** The links of a model's stage for its final validation on the preprocessed cases of `preprocessedDatasetDir`. */
export async function stageLinks(model: LoadedModel, preprocessedDatasetDir: string, echo?: (line: string) => void): Promise<StageLinks> {
  const { configuration, plans } = model;
  const previous = configuration.previous_stage;
  const prevFolder = previous === undefined ? null : nextStageFolder(siblingModelFolder(model.modelFolder, previous), model.configurationName);
  const next = nextStages(configuration).map((name) => ({
    name,
    folder: nextStageFolder(model.modelFolder, name),
    dataDir: path.join(preprocessedDatasetDir, resolveConfiguration(plans, name).data_identifier),
  }));
  for (const n of next) await mkdir(n.folder, { recursive: true });
  return {
    async input(caseId, c) {
      if (prevFolder === null) return { data: c.data, shape: c.shape };
      const seg = await readPreviousStageSegmentation(prevFolder, caseId, c.shape.slice(1));
      return appendOneHot(c.data, c.shape, seg, model.labels.foregroundLabels);
    },
    async writeNextStages(caseId, logits) {
      for (const n of next) {
        // the next stage's preprocessed case gives the target shape (upstream loads it for that)
        const segFile = path.join(n.dataDir, `${caseId}_seg.npy`);
        if (!existsSync(segFile)) {
          echo?.(`Predicting next stage ${n.name} failed for case ${caseId} because ${segFile} is missing: run the preprocessing of ${n.name} first`);
          continue;
        }
        const shape = (await readNpy(segFile)).shape.slice(1);
        // as upstream's resample_and_save: this stage's spacing as both current and target spacing (it only steers separate-z)
        const seg = tidy(() => {
          const resampled = resampleToShape(logits.float(), shape, configuration.spacing, configuration.spacing, configuration.resampling_fn_probabilities_kwargs);
          return model.labels.toSegmentation(resampled, 'logits', 0).to('uint8').toTypedArray() as Uint8Array;
        });
        await writeNextStageSegmentation(n.folder, caseId, seg, shape);
      }
    },
  };
}

/** Where a cascade stage's `predict` took the previous stage's predictions from. */
export interface PreviousStageSource {
  configuration: string;
  /** the folder of `<case><file_ending>` predictions */
  folder: string;
  /** the previous stage's model folder when predict ran it first; null when the folder was given */
  ranModel: string | null;
}

/** What previousStageFor needs of predictCases' options (and passes on when it runs the previous stage). */
export interface PreviousStageRunOptions {
  inputFolder: string;
  outputFolder: string;
  modelFolder: string;
  checkpointName?: string;
  folds?: Fold[];
  previousStagePredictions?: string;
}

/**
 * For a cascade stage: the folder holding the previous stage's prediction of every input case, either the one given
 * (-prev_stage_predictions) or `<output>/prev_stage_<previous>/`, which `run` (predictCases) fills first with the
 * previous stage's model beside this one (its own folds). Missing predictions are one UserError naming the command
 * that makes them. Undefined for other stages.
 */
export async function previousStageFor<O extends PreviousStageRunOptions>(
  model: LoadedModel,
  cases: readonly InputCase[],
  options: O,
  run: (options: O) => Promise<unknown>,
): Promise<PreviousStageSource | undefined> {
  const previous = model.configuration.previous_stage;
  if (previous === undefined) {
    if (options.previousStagePredictions !== undefined) {
      throw new UserError(`${model.modelFolder}: -prev_stage_predictions is for cascade stages, and configuration '${model.configurationName}' has no previous stage`);
    }
    return undefined;
  }
  const id = modelIdentity(model.modelFolder);
  const dataset = model.plans.dataset_name;
  const predictCommand = (dir: string) => `nnunet predict -i ${options.inputFolder} -o ${dir} -d ${dataset} -c ${previous}${stageFlags(id)}`;
  let source: PreviousStageSource;
  if (options.previousStagePredictions !== undefined) {
    source = { configuration: previous, folder: options.previousStagePredictions, ranModel: null };
  } else {
    const checkpointName = options.checkpointName ?? CHECKPOINT_FILES.final;
    const prevModel = siblingModelFolder(model.modelFolder, previous);
    const folds = await detectFolds(prevModel, checkpointName).catch(() => []);
    if (folds.length === 0) {
      throw new UserError(
        `${model.configurationName} is a cascade stage: it needs the ${previous} predictions of the input cases, and ${prevModel} has no fold with ${checkpointName} to make them. ` +
          `Give them with -prev_stage_predictions DIR (made by \`${predictCommand('DIR')}\`), or train ${previous} first (\`${trainCommand({ datasetName: dataset, ...id }, previous, 0)}\`, and folds 1-4 likewise)`,
      );
    }
    const folder = path.join(options.outputFolder, `prev_stage_${previous}`);
    await run({ ...options, modelFolder: prevModel, outputFolder: folder, folds, previousStagePredictions: undefined, saveProbabilities: false });
    source = { configuration: previous, folder, ranModel: prevModel };
  }
  const ending = model.datasetJson.file_ending;
  const missing = cases.filter((c) => !existsSync(path.join(source.folder, c.id + ending))).map((c) => c.id);
  if (missing.length > 0) {
    throw new UserError(`${source.folder}: no ${previous} prediction <case>${ending} for ${missing.length} of ${cases.length} input case(s) (${listSome(missing)}); make them with \`${predictCommand(source.folder)}\``);
  }
  return source;
}

/** The library predict()'s previous-stage segmentation: required for a cascade stage, refused for any other. */
export async function previousStageVolume(model: LoadedModel, given: NiftiVolume | string | undefined): Promise<NiftiVolume | null> {
  const previous = model.configuration.previous_stage;
  if (previous === undefined) {
    if (given !== undefined) throw new UserError(`${model.modelFolder}: a previous-stage segmentation was given, but configuration '${model.configurationName}' is not a cascade stage`);
    return null;
  }
  if (given === undefined) {
    throw new UserError(`${model.modelFolder}: configuration '${model.configurationName}' is a cascade stage: pass the case's ${previous} segmentation as previousStage (predict it with the ${previous} model first)`);
  }
  return typeof given === 'string' ? readNifti(given) : given;
}

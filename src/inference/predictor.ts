// nnUNetv2_predict for this port: raw images in, label maps (and optionally probabilities) out, folds ensembled by
// averaging logits, each written with the geometry of its input.
import { access, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../atomic-write.js';
import { UserError } from '../errors.js';
import { acquireFolderLock, type FolderLock } from '../io/folder-lock.js';
import { type NiftiVolume, readNifti } from '../io/nifti.js';
import type { LabelSource } from '../planning/labels.js';
import { preprocessCase } from '../preprocessing/preprocess-case.js';
import { type Tensor, ampDefault, tensor, tidy } from '../torch/index.js';
import { appendOneHot } from '../data/previous-stage.js';
import { BackgroundExporter } from './background-export.js';
import { type PreviousStageSource, previousStageFor, previousStageVolume } from './cascade.js';
import type { ExportJob } from './export-job.js';
import { canExportInSlabs, logitsToOriginal, segmentationFromSlabs, writePrediction } from './export.js';
import { filesOfCase, findInputCases, type InputCase } from './input-files.js';
import { type LoadModelOptions, type LoadedModel, loadModel } from './load-model.js';
import { type SlidingWindowOptions, forEachLogitSlab, predictSlidingWindow } from './sliding-window.js';

export interface InferenceOptions {
  /** Default 0.5. */
  stepSize?: number;
  /** Mirroring test-time augmentation over the axes the trainer allowed. Default true. */
  useMirroring?: boolean;
  /** Tiles per forward pass. Default 1 on the CPU, 4 on CUDA. */
  tileBatchSize?: number;
  /** Forward passes under autocast (float16), as nnU-Net's predictor. Only takes effect on CUDA. Default true. */
  amp?: boolean;
  /** cuDNN's deterministic algorithms, no benchmarking: repeatable GPU runs, slower. Default false. */
  deterministic?: boolean;
}

function slidingWindowOptions(model: LoadedModel, options: InferenceOptions): SlidingWindowOptions {
  return {
    patchSize: model.configuration.patch_size,
    numClasses: model.numClasses,
    stepSize: options.stepSize ?? 0.5,
    mirrorAxes: (options.useMirroring ?? true) ? model.mirrorAxes : [],
    tileBatchSize: options.tileBatchSize ?? (model.device === 'cpu' ? 1 : 4),
    device: model.device,
    amp: (options.amp ?? true) && ampDefault(model.device),
    deterministic: options.deterministic,
  };
}

/** Logits [K, ...spatial] of one preprocessed case [C, ...spatial], averaged over the model's folds. */
export function predictLogits(model: LoadedModel, data: Tensor, options: InferenceOptions = {}): Tensor {
  const windowOptions = slidingWindowOptions(model, options);
  return tidy(() => {
    let sum: Tensor | null = null;
    for (const network of model.networks) {
      const logits = predictSlidingWindow(network, data, windowOptions);
      sum = sum === null ? logits : sum.add_(logits);
    }
    return (sum as Tensor).div_(model.networks.length);
  });
}

/** What an export job needs to rebuild the model's label manager on the export worker. */
export function exportLabels(model: LoadedModel): LabelSource {
  return { labels: model.datasetJson.labels, regions_class_order: model.datasetJson.regions_class_order };
}

/**
 * Preprocesses the channels of one case into the network's input; the properties say how to export its prediction.
 * A cascade stage takes the previous stage's segmentation of the case (in the input's geometry): preprocessed as a
 * reference segmentation is, then added as one-hot channels (upstream's predict_from_raw_data with prev-stage segs).
 */
function prepareCase(model: LoadedModel, images: NiftiVolume[], previous: NiftiVolume | null) {
  const pre = preprocessCase(images, previous, model.plans, model.configurationName, model.datasetJson);
  const input = pre.seg === null ? pre : appendOneHot(pre.data, pre.shape, pre.seg, model.labels.foregroundLabels);
  return { data: input.data, shape: input.shape, properties: pre.properties };
}
type PreparedCase = ReturnType<typeof prepareCase>;

function predictCaseLogits(model: LoadedModel, prepared: PreparedCase, options: InferenceOptions): Tensor {
  return tidy(() => predictLogits(model, tensor(prepared.data, prepared.shape), options));
}

/**
 * The case's label map (in the input's geometry) straight from the sliding window's slabs, so that the K class maps
 * never exist at full resolution at once; the labels are those of the whole-volume export. Only for one network (an
 * ensemble averages whole logit volumes) and a case whose logits need no resampling back (canExportInSlabs); null
 * otherwise.
 */
function segmentationInSlabs(model: LoadedModel, prepared: PreparedCase, options: InferenceOptions): Tensor | null {
  if (model.networks.length !== 1 || !canExportInSlabs(prepared.shape.slice(1), prepared.properties)) return null;
  const [network] = model.networks;
  const windowOptions = slidingWindowOptions(model, options);
  return tidy(() => {
    const data = tensor(prepared.data, prepared.shape);
    return segmentationFromSlabs((emit) => forEachLogitSlab(network, data, windowOptions, emit), model.numClasses, prepared.properties, model.plans, model.labels);
  });
}

export interface PredictCasesOptions extends InferenceOptions, LoadModelOptions {
  inputFolder: string;
  outputFolder: string;
  modelFolder: string;
  saveProbabilities?: boolean;
  /** Replace existing outputs; otherwise cases whose outputs exist are skipped. Default false. */
  overwrite?: boolean;
  /** Export on a worker thread while the next case is predicted. Default true. */
  backgroundExport?: boolean;
  onProgress?: (event: { caseId: string; index: number; total: number; status: 'predicted' | 'skipped' }) => void;
  /**
   * Cascade stages: the folder of the previous stage's predictions (`<case><file_ending>` in the input's geometry,
   * -prev_stage_predictions). Unset: the previous stage's model beside this one is run first (cascade.ts).
   */
  previousStagePredictions?: string;
}

export interface PredictCasesResult {
  predicted: string[];
  skipped: string[];
  /** Cascade stages: where the previous stage's predictions came from. */
  previousStage?: PreviousStageSource;
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** Predicts every case of a folder of raw images (`<case>_0000<ending>`, ...) into `outputFolder`. */
export async function predictCases(options: PredictCasesOptions): Promise<PredictCasesResult> {
  const model = await loadModel(options.modelFolder, options);
  const exporter = new BackgroundExporter(options.backgroundExport ?? true);
  let lock: FolderLock | undefined;
  try {
    const ending = model.datasetJson.file_ending;
    const cases = await findInputCases(options.inputFolder, ending, model.inputChannels);
    const previousStage = await previousStageFor(model, cases, options, predictCases);
    await mkdir(options.outputFolder, { recursive: true });
    // a second predict into the same folder would skip or overwrite the cases this one is writing
    lock = await acquireFolderLock(options.outputFolder, { command: 'nnunet predict' });
    // as nnU-Net, the output folder describes itself (nnUNetv2_ensemble reads these)
    const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value, null, 2));
    await writeFileAtomic(path.join(options.outputFolder, 'dataset.json'), json(model.datasetJson));
    await writeFileAtomic(path.join(options.outputFolder, 'plans.json'), json(model.plans));
    const outputs = (c: InputCase) => [path.join(options.outputFolder, c.id + ending), ...(options.saveProbabilities ? [path.join(options.outputFolder, `${c.id}.npz`)] : [])];
    const predicted: string[] = [];
    const skipped: string[] = [];
    for (const [index, c] of cases.entries()) {
      const report = (status: 'predicted' | 'skipped') => options.onProgress?.({ caseId: c.id, index, total: cases.length, status });
      if (!options.overwrite && (await Promise.all(outputs(c).map(exists))).every(Boolean)) {
        skipped.push(c.id);
        report('skipped');
        continue;
      }
      const images = await Promise.all(c.files.map(readNifti));
      const previous = previousStage ? await readNifti(path.join(previousStage.folder, c.id + ending)) : null;
      const prepared = prepareCase(model, images, previous);
      const outputBase = path.join(options.outputFolder, c.id);
      const segmentation = options.saveProbabilities ? null : segmentationInSlabs(model, prepared, options);
      if (segmentation) {
        try {
          await writePrediction(outputBase, { segmentation, probabilities: null }, prepared.properties, { fileEnding: ending });
        } finally {
          segmentation.dispose();
        }
      } else {
        const logits = predictCaseLogits(model, prepared, options);
        const job: ExportJob = {
          logits: logits.toTypedArray() as Float32Array,
          shape: logits.shape,
          properties: prepared.properties,
          plans: model.plans,
          configuration: model.configuration,
          labels: exportLabels(model),
          outputBase,
          options: { fileEnding: ending, saveProbabilities: options.saveProbabilities },
        };
        logits.dispose();
        await exporter.submit(job);
      }
      predicted.push(c.id);
      report('predicted');
    }
    await exporter.drain();
    return { predicted, skipped, ...(previousStage ? { previousStage } : {}) };
  } finally {
    await exporter.close().catch(() => undefined);
    lock?.release();
    model.dispose();
  }
}

export interface PredictOptions extends InferenceOptions, LoadModelOptions {
  /** Also return the probabilities [K, ...shape]: softmax, or one sigmoid per region. */
  returnProbabilities?: boolean;
  /** Cascade stages: the previous stage's segmentation of the case (a volume or its file), in the input's geometry. */
  previousStage?: NiftiVolume | string;
}

export interface PredictResult {
  /** Label map in C order with the input's array shape ([z, y, x]). */
  labels: Uint8Array | Int16Array;
  shape: number[];
  probabilities?: Float32Array;
}

/**
 * Library entry: predicts one case given as its channel volumes, a file, or a case prefix (`dir/case` for
 * `dir/case_0000.nii.gz`, ...). Pass a LoadedModel to reuse a model across calls.
 */
export async function predict(input: NiftiVolume[] | string, model: string | LoadedModel, options: PredictOptions = {}): Promise<PredictResult> {
  const loaded = typeof model === 'string' ? await loadModel(model, options) : model;
  try {
    let images: NiftiVolume[];
    if (typeof input === 'string') {
      const c = await filesOfCase(input, loaded.datasetJson.file_ending, loaded.inputChannels);
      images = await Promise.all(c.files.map(readNifti));
    } else images = input;
    if (images.length !== loaded.inputChannels) throw new UserError(`the model needs ${loaded.inputChannels} channel(s), got ${images.length} volume(s)`);
    const prepared = prepareCase(loaded, images, await previousStageVolume(loaded, options.previousStage));
    const segmentation = options.returnProbabilities ? null : segmentationInSlabs(loaded, prepared, options);
    if (segmentation) {
      try {
        return { labels: segmentation.toTypedArray() as Uint8Array | Int16Array, shape: segmentation.shape };
      } finally {
        segmentation.dispose();
      }
    }
    const logits = predictCaseLogits(loaded, prepared, options);
    return tidy(() => {
      const out = logitsToOriginal(logits, prepared.properties, loaded.plans, loaded.configuration, options.returnProbabilities ?? false, loaded.labels);
      logits.dispose();
      const result: PredictResult = { labels: out.segmentation.toTypedArray() as Uint8Array | Int16Array, shape: out.segmentation.shape };
      if (out.probabilities) result.probabilities = out.probabilities.toTypedArray() as Float32Array;
      return result;
    });
  } finally {
    if (typeof model === 'string') loaded.dispose();
  }
}

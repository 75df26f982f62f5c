// A trained model folder (nnUNet_results/<Dataset>/<Trainer>__<Plans>__<config>/) ready for inference: plans,
// dataset.json and one network per fold, rebuilt without deep supervision from the plans and the fold checkpoints.
import path from 'node:path';
import { z } from 'zod';
import { UserError } from '../errors.js';
import { type CheckpointFile, readCheckpoint } from '../model/checkpoint.js';
import { CHECKPOINT_FILES, type Fold, detectFolds } from '../model/model-folder.js';
import { type SegmentationNetwork, buildNetwork } from '../model/network-registry.js';
import { type DatasetJson, loadDatasetJson, numChannels } from '../planning/dataset-json.js';
import { type LabelManager, labelManagerFrom } from '../planning/labels.js';
import { type Configuration, type Plans, readPlansFile, resolveConfiguration } from '../planning/plans-schema.js';
import { type Device, type Tensor, assertDeviceAvailable, dispose } from '../torch/index.js';

export interface LoadedModel {
  modelFolder: string;
  plans: Plans;
  datasetJson: DatasetJson;
  configurationName: string;
  configuration: Configuration;
  folds: Fold[];
  /** One network per fold, in eval mode on `device`, deep supervision off. */
  networks: SegmentationNetwork[];
  /** Patch axes the trainer allowed to mirror (from the first checkpoint). */
  mirrorAxes: number[];
  trainerName: string;
  labels: LabelManager;
  /** Network output channels (labels without the ignore label, or regions). */
  numClasses: number;
  /** Image channels of a case (dataset.json channel_names); a cascade stage's network takes the foreground labels on top. */
  inputChannels: number;
  device: Device;
  dispose(): void;
}

const CheckpointFieldsSchema = z.looseObject({
  init_args: z.looseObject({ configuration: z.string() }),
  trainer_name: z.string(),
  inference_allowed_mirroring_axes: z.array(z.number().int().nonnegative()).nullable().optional(),
});

export interface LoadModelOptions {
  /** Folds to ensemble; default: every fold_X folder that has the checkpoint. */
  folds?: Fold[];
  /** Default checkpoint_final.pth. */
  checkpointName?: string;
  device?: Device;
}

/** Reads plans.json, dataset.json and fold_X/<checkpoint> of a model folder and builds one network per fold. */
export async function loadModel(modelFolder: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const { checkpointName = CHECKPOINT_FILES.final, device = 'cpu' } = options;
  assertDeviceAvailable(device);
  const folds = options.folds ?? (await detectFolds(modelFolder, checkpointName));
  if (folds.length === 0) throw new UserError('no folds given');
  const plans = await readPlansFile(path.join(modelFolder, 'plans.json'));
  const datasetJsonFile = path.join(modelFolder, 'dataset.json');
  const datasetJson = await loadDatasetJson(datasetJsonFile);
  const labels = labelManagerFrom(datasetJson, datasetJsonFile);
  const inputChannels = numChannels(datasetJson);
  const numClasses = labels.numSegmentationHeads;

  const networks: SegmentationNetwork[] = [];
  let first: z.infer<typeof CheckpointFieldsSchema> | null = null;
  let configuration: Configuration | null = null;
  try {
    for (const fold of folds) {
      const file = path.join(modelFolder, `fold_${fold}`, checkpointName);
      let ckpt: CheckpointFile;
      try {
        ckpt = await readCheckpoint(file);
      } catch (err) {
        throw err instanceof UserError ? err : new UserError(`${file}: ${(err as Error).message}`);
      }
      try {
        const fields = CheckpointFieldsSchema.safeParse(ckpt);
        if (!fields.success) throw new UserError(`${file}: not an nnU-Net checkpoint:\n${z.prettifyError(fields.error)}`);
        if (first === null) {
          first = fields.data;
          configuration = resolveConfiguration(plans, first.init_args.configuration, path.join(modelFolder, 'plans.json'));
        } else if (fields.data.init_args.configuration !== first.init_args.configuration) {
          throw new UserError(`${file}: trained for configuration '${fields.data.init_args.configuration}', but fold ${folds[0]} for '${first.init_args.configuration}'`);
        }
        // a cascade stage's network also takes the previous stage's one-hot segmentation (cascade.ts)
        const networkChannels = inputChannels + ((configuration as Configuration).previous_stage === undefined ? 0 : labels.foregroundLabels.length);
        const network = buildNetwork({ configuration: configuration as Configuration, inputChannels: networkChannels, numHeads: numClasses, source: path.join(modelFolder, 'plans.json'), deepSupervision: false });
        networks.push(network);
        try {
          network.loadStateDict(ckpt.network_weights as Record<string, Tensor>);
        } catch (err) {
          throw new UserError(`${file}: the weights do not fit the network of plans.json: ${(err as Error).message}`);
        }
        network.to(device).eval();
      } finally {
        dispose(ckpt);
      }
    }
  } catch (err) {
    for (const n of networks) n.dispose();
    throw err;
  }
  const fields = first as z.infer<typeof CheckpointFieldsSchema>;
  return {
    modelFolder,
    plans,
    datasetJson,
    configurationName: fields.init_args.configuration,
    configuration: configuration as Configuration,
    folds,
    networks,
    mirrorAxes: fields.inference_allowed_mirroring_axes ?? [],
    trainerName: fields.trainer_name,
    labels,
    numClasses,
    inputChannels,
    device,
    dispose: () => networks.forEach((n) => n.dispose()),
  };
}

// A trained model folder (nnUNet_results/<Dataset>/<Trainer>__<Plans>__<config>/) ready for inference: plans,
// dataset.json and one network per fold, rebuilt without deep supervision from the plans and the fold checkpoints.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { Fold } from '../data/splits.js';
import { UserError } from '../errors.js';
import { type PlainConvUNetArchKwargs, architectureFromPlans } from '../network/architecture.js';
import { PlainConvUNet } from '../network/plain-conv-unet.js';
import { type DatasetJson, loadDatasetJson, numChannels } from '../planning/dataset-json.js';
import { type Configuration, type Plans, readPlansFile, resolveConfiguration } from '../planning/plans-schema.js';
import { type Device, type Tensor, assertDeviceAvailable, dispose } from '../torch/index.js';
import { readCheckpoint } from '../training/checkpoint.js';

export interface LoadedModel {
  modelFolder: string;
  plans: Plans;
  datasetJson: DatasetJson;
  configurationName: string;
  configuration: Configuration;
  folds: Fold[];
  /** One network per fold, in eval mode on `device`, deep supervision off. */
  networks: PlainConvUNet[];
  /** Patch axes the trainer allowed to mirror (from the first checkpoint). */
  mirrorAxes: number[];
  trainerName: string;
  numClasses: number;
  inputChannels: number;
  device: Device;
  dispose(): void;
}

const CheckpointFieldsSchema = z.looseObject({
  init_args: z.looseObject({ configuration: z.string() }),
  trainer_name: z.string(),
  inference_allowed_mirroring_axes: z.array(z.number().int().nonnegative()).nullable().optional(),
});

/** nnU-Net's auto_detect_available_folds: fold_* folders holding the checkpoint. */
async function detectFolds(modelFolder: string, checkpointName: string): Promise<Fold[]> {
  let entries: string[];
  try {
    entries = await readdir(modelFolder);
  } catch {
    throw new UserError(`${modelFolder}: model folder does not exist`);
  }
  const folds: Fold[] = [];
  for (const name of entries.sort()) {
    const m = /^fold_(\d+|all)$/.exec(name);
    if (!m) continue;
    const files = await readdir(path.join(modelFolder, name)).catch(() => [] as string[]);
    if (files.includes(checkpointName)) folds.push(m[1] === 'all' ? 'all' : Number(m[1]));
  }
  if (folds.length === 0) throw new UserError(`${modelFolder}: no fold_X folder holds ${checkpointName}`);
  return folds;
}

export interface LoadModelOptions {
  /** Folds to ensemble; default: every fold_X folder that has the checkpoint. */
  folds?: Fold[];
  /** Default checkpoint_final.pth. */
  checkpointName?: string;
  device?: Device;
}

/** Reads plans.json, dataset.json and fold_X/<checkpoint> of a model folder and builds one network per fold. */
export async function loadModel(modelFolder: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const { checkpointName = 'checkpoint_final.pth', device = 'cpu' } = options;
  assertDeviceAvailable(device);
  const folds = options.folds ?? (await detectFolds(modelFolder, checkpointName));
  if (folds.length === 0) throw new UserError('no folds given');
  const plans = await readPlansFile(path.join(modelFolder, 'plans.json'));
  const datasetJson = await loadDatasetJson(path.join(modelFolder, 'dataset.json'));
  const inputChannels = numChannels(datasetJson);
  const numClasses = Object.keys(datasetJson.labels).filter((k) => k !== 'ignore').length;

  const networks: PlainConvUNet[] = [];
  let first: z.infer<typeof CheckpointFieldsSchema> | null = null;
  let configuration: Configuration | null = null;
  try {
    for (const fold of folds) {
      const file = path.join(modelFolder, `fold_${fold}`, checkpointName);
      let ckpt: Awaited<ReturnType<typeof readCheckpoint>>;
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
        const network = buildNetwork(configuration as Configuration, inputChannels, numClasses, modelFolder);
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
    numClasses,
    inputChannels,
    device,
    dispose: () => networks.forEach((n) => n.dispose()),
  };
}

function buildNetwork(configuration: Configuration, inputChannels: number, numClasses: number, modelFolder: string): PlainConvUNet {
  const { network_class_name: cls, arch_kwargs: arch } = configuration.architecture;
  if (!cls.endsWith('PlainConvUNet') || arch.n_conv_per_stage === undefined) {
    throw new UserError(`${modelFolder}/plans.json: network ${cls} is not supported (only PlainConvUNet)`);
  }
  const network = new PlainConvUNet(
    architectureFromPlans(
      {
        ...arch,
        n_conv_per_stage: arch.n_conv_per_stage,
        norm_op_kwargs: (arch.norm_op_kwargs ?? undefined) as PlainConvUNetArchKwargs['norm_op_kwargs'],
        nonlin_kwargs: (arch.nonlin_kwargs ?? undefined) as PlainConvUNetArchKwargs['nonlin_kwargs'],
      },
      inputChannels,
      numClasses,
    ),
  );
  network.deepSupervision = false;
  return network;
}

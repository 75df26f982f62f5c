// `nnunet export-onnx`: a trained model folder's folds as model.onnx + model.json, which together are all that
// `predict --backend onnx` and the browser need. The graph is emitted per network class (onnx-network-registry.ts)
// from the network the registry builds and the checkpoint's weights.
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../atomic-write.js';
import { UserError } from '../errors.js';
import { type LoadedModel, loadModel } from '../inference/load-model.js';
import { CHECKPOINT_FILES, type Fold } from '../model/model-folder.js';
import type { SegmentationNetwork } from '../model/network-registry.js';
import { MODEL_JSON_FORMAT_VERSION, type ModelJson, parseModelJson } from '../portable/model-json.js';
import { tidy } from '../torch/index.js';
import { GraphBuilder, INPUT_NAME, OUTPUT_NAME, type Weight } from './onnx-graph.js';
import { onnxNetworkEntry } from './onnx-network-registry.js';
import { OPSET_VERSION } from './onnx-proto.js';
import './networks/index.js';

export const ONNX_FILE = 'model.onnx';
export const MODEL_JSON_FILE = 'model.json';

function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

export interface NetworkIo {
  inputChannels: number;
  numClasses: number;
  /** Spatial dimensions (2 or 3). */
  dims: number;
}

/** The ONNX model (opset 17, one output `logits`, dynamic batch and spatial sizes) of `network`'s current weights. */
export function networkToOnnx(network: SegmentationNetwork, networkClassName: string, io: NetworkIo, source: string): Uint8Array {
  const entry = onnxNetworkEntry(networkClassName, source);
  const weights = new Map<string, Weight>();
  for (const [key, t] of network.stateDict()) {
    weights.set(key, { data: tidy(() => t.float().contiguous().toTypedArray() as Float32Array), shape: t.shape });
  }
  const g = new GraphBuilder(weights);
  const logits = entry.emit(g, network, INPUT_NAME);
  return g.model(logits, io, {
    producerName: 'nnunet-ts',
    producerVersion: packageVersion(),
    docString: `${entry.className} exported by nnunet-ts`,
    graphName: entry.className,
    metadata: {},
  });
}

/** Per axis, the product of the strides: spatial sizes the network takes are multiples of it. */
export function totalStride(strides: readonly (readonly number[])[]): number[] {
  return strides[0].map((_, a) => strides.reduce((p, s) => p * s[a], 1));
}

function modelJsonOf(model: LoadedModel, fold: Fold, checkpointName: string): ModelJson {
  const { configuration: config, datasetJson, plans } = model;
  const json: ModelJson = {
    format_version: MODEL_JSON_FORMAT_VERSION,
    exporter: { name: 'nnunet-ts', version: packageVersion() },
    dataset_name: plans.dataset_name,
    plans_name: plans.plans_name,
    trainer: model.trainerName,
    configuration_name: model.configurationName,
    fold,
    checkpoint: checkpointName,
    network: {
      class_name: config.architecture.network_class_name,
      onnx_file: ONNX_FILE,
      opset: OPSET_VERSION,
      input_name: INPUT_NAME,
      output_name: OUTPUT_NAME,
      input_channels: model.inputChannels,
      num_classes: model.numClasses,
      total_stride: totalStride(config.architecture.arch_kwargs.strides),
    },
    // all of dataset.json: prediction folders carry it for nnunet ensemble, as the libtorch backend's do
    dataset: datasetJson,
    transpose_forward: plans.transpose_forward,
    transpose_backward: plans.transpose_backward,
    configuration: config,
    foreground_intensity_properties_per_channel: plans.foreground_intensity_properties_per_channel,
    mirror_axes: model.mirrorAxes,
  };
  // what is written must read back: the same schema guards both ends
  return parseModelJson(json, 'model.json (export)');
}

export interface ExportOnnxOptions {
  modelFolder: string;
  outputFolder: string;
  /** Default: every fold_X with the checkpoint. */
  folds?: Fold[];
  checkpointName?: string;
}

/** Writes DIR/model.{onnx,json} for one fold, DIR/fold_X/model.{onnx,json} for several; returns the folders written. */
export async function exportOnnx(options: ExportOnnxOptions): Promise<string[]> {
  const checkpointName = options.checkpointName ?? CHECKPOINT_FILES.final;
  const model = await loadModel(options.modelFolder, { folds: options.folds, checkpointName, device: 'cpu' });
  try {
    const cls = model.configuration.architecture.network_class_name;
    const source = path.join(options.modelFolder, 'plans.json');
    onnxNetworkEntry(cls, source);
    if (model.configuration.previous_stage !== undefined) {
      throw new UserError(`${options.modelFolder}: configuration '${model.configurationName}' is a cascade stage (previous stage '${model.configuration.previous_stage}'); the onnx backend does not run cascades`);
    }
    const io: NetworkIo = { inputChannels: model.inputChannels, numClasses: model.numClasses, dims: model.configuration.patch_size.length };
    const written: string[] = [];
    for (const [i, fold] of model.folds.entries()) {
      const dir = model.folds.length === 1 ? options.outputFolder : path.join(options.outputFolder, `fold_${fold}`);
      await mkdir(dir, { recursive: true });
      await writeFileAtomic(path.join(dir, ONNX_FILE), networkToOnnx(model.networks[i], cls, io, source));
      await writeFileAtomic(path.join(dir, MODEL_JSON_FILE), new TextEncoder().encode(JSON.stringify(modelJsonOf(model, fold, checkpointName), null, 2)));
      written.push(dir);
    }
    return written;
  } finally {
    model.dispose();
  }
}

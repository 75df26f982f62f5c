// The networks a plans file can name, keyed by the class name at the end of `network_class_name`
// (`dynamic_network_architectures.architectures.unet.PlainConvUNet` → `PlainConvUNet`). Training, load-model,
// pretrained weights and export all build through `buildNetwork`, so a new architecture is one `registerNetwork`.
import { UserError } from '../errors.js';
import { type PlainConvUNetArchKwargs, type ResidualEncoderUNetArchKwargs, architectureFromPlans, residualEncoderArchitectureFromPlans } from '../network/architecture.js';
import { PlainConvUNet } from '../network/plain-conv-unet.js';
import { ResidualEncoderUNet } from '../network/residual-encoder-unet.js';
import type { ArchKwargs, Configuration } from '../planning/plans-schema.js';
import type { Generator, Tensor, nn } from '../torch/index.js';

/** What the trainer and the predictor need from a segmentation network. */
export interface SegmentationNetwork extends nn.Module {
  /** On: one output per decoder stage (full resolution first); off: only the full-resolution output. */
  deepSupervision: boolean;
  forward(x: Tensor): Tensor[];
  /** The architecture's own weight initialization (nnU-Net's InitWeights_He and friends). */
  initialize(generator: Generator): this;
}

export interface NetworkEntry {
  /** Class name as the last segment of the plans' `network_class_name`. */
  className: string;
  /** State-dict key prefix of the segmentation heads (skipped by --pretrained-weights, as upstream). */
  segmentationHeadPrefix: string;
  build(archKwargs: ArchKwargs, inputChannels: number, numHeads: number): SegmentationNetwork;
}

const registry = new Map<string, NetworkEntry>();

export function registerNetwork(entry: NetworkEntry): void {
  registry.set(entry.className, entry);
}

export function registeredNetworks(): string[] {
  return [...registry.keys()].sort();
}

const shortName = (networkClassName: string): string => networkClassName.split('.').pop() ?? networkClassName;

/** The entry for a plans' network class, or one clear error naming the class and where it came from. */
export function networkEntry(networkClassName: string, source: string): NetworkEntry {
  const entry = registry.get(shortName(networkClassName));
  if (!entry) {
    throw new UserError(`${source}: network_class_name '${networkClassName}' is not a known network (known: ${registeredNetworks().join(', ')})`);
  }
  return entry;
}

export interface BuildNetworkOptions {
  configuration: Configuration;
  inputChannels: number;
  /** Output channels: classes (ignore label excluded) or regions, from the label manager. */
  numHeads: number;
  /** Plans file (or model folder) named in errors. */
  source: string;
  deepSupervision?: boolean;
}

/** The one way every stage builds a network from a plans configuration. */
export function buildNetwork(options: BuildNetworkOptions): SegmentationNetwork {
  const { network_class_name: cls, arch_kwargs: arch } = options.configuration.architecture;
  const entry = networkEntry(cls, options.source);
  let network: SegmentationNetwork;
  try {
    network = entry.build(arch, options.inputChannels, options.numHeads);
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`${options.source}: cannot build ${entry.className} from arch_kwargs: ${(err as Error).message}`);
  }
  network.deepSupervision = options.deepSupervision ?? true;
  return network;
}

function requireList(arch: ArchKwargs, key: 'n_conv_per_stage' | 'n_blocks_per_stage', cls: string): number[] {
  const value = arch[key];
  if (!value) throw new Error(`${cls} needs arch_kwargs.${key}`);
  return value;
}

/** The optional kwargs of the plans, narrowed to what the networks read. */
function commonKwargs(arch: ArchKwargs): Omit<PlainConvUNetArchKwargs, 'n_conv_per_stage'> {
  return {
    ...arch,
    norm_op_kwargs: (arch.norm_op_kwargs ?? undefined) as PlainConvUNetArchKwargs['norm_op_kwargs'],
    nonlin_kwargs: (arch.nonlin_kwargs ?? undefined) as PlainConvUNetArchKwargs['nonlin_kwargs'],
  };
}

registerNetwork({
  className: 'PlainConvUNet',
  segmentationHeadPrefix: 'decoder.seg_layers.',
  build: (arch, inputChannels, numHeads) => {
    const kwargs: PlainConvUNetArchKwargs = { ...commonKwargs(arch), n_conv_per_stage: requireList(arch, 'n_conv_per_stage', 'PlainConvUNet') };
    return new PlainConvUNet(architectureFromPlans(kwargs, inputChannels, numHeads));
  },
});

registerNetwork({
  className: 'ResidualEncoderUNet',
  segmentationHeadPrefix: 'decoder.seg_layers.',
  build: (arch, inputChannels, numHeads) => {
    const kwargs: ResidualEncoderUNetArchKwargs = { ...commonKwargs(arch), n_blocks_per_stage: requireList(arch, 'n_blocks_per_stage', 'ResidualEncoderUNet') };
    return new ResidualEncoderUNet(residualEncoderArchitectureFromPlans(kwargs, inputChannels, numHeads));
  },
});

// The network descriptions nnU-Net plans carry (architecture.arch_kwargs of a PlainConvUNet or a ResidualEncoderUNet),
// as the networks need them.

/** What the decoder and the conv blocks read: everything but the encoder's per-stage depth. */
export interface UNetCommonArchitecture {
  inputChannels: number;
  numClasses: number;
  featuresPerStage: number[];
  kernelSizes: number[][];
  strides: number[][];
  nConvPerStageDecoder: number[];
  convBias: boolean;
  normEps: number;
  leakySlope: number;
  /** LeakyReLU(inplace=True), as nnU-Net plans ask: one activation fewer kept for backward per conv. */
  leakyInplace: boolean;
}

export interface UNetArchitecture extends UNetCommonArchitecture {
  nConvPerStage: number[];
}

export interface ResidualEncoderUNetArchitecture extends UNetCommonArchitecture {
  /** BasicBlockD residual blocks per encoder stage. */
  nBlocksPerStage: number[];
}

interface CommonArchKwargs {
  n_stages: number;
  features_per_stage: number[];
  kernel_sizes: number[][];
  strides: number[][];
  n_conv_per_stage_decoder: number[];
  conv_bias: boolean;
  norm_op_kwargs?: { eps?: number };
  nonlin_kwargs?: { negative_slope?: number; inplace?: boolean };
}

/** The subset of a plans configuration's arch_kwargs PlainConvUNet reads. */
export interface PlainConvUNetArchKwargs extends CommonArchKwargs {
  n_conv_per_stage: number[];
}

/** The subset of a plans configuration's arch_kwargs ResidualEncoderUNet reads. */
export interface ResidualEncoderUNetArchKwargs extends CommonArchKwargs {
  n_blocks_per_stage: number[];
}

/** Checks every list against n_stages (the encoder depth list under its plans name) and maps the shared fields. */
function commonFromPlans(arch: CommonArchKwargs, depthField: string, depth: number[], inputChannels: number, numClasses: number): UNetCommonArchitecture {
  const n = arch.n_stages;
  const fail = (what: string): never => {
    throw new Error(`plans architecture is inconsistent: ${what}`);
  };
  if (!Number.isInteger(n) || n < 1) fail(`n_stages must be a positive integer, got ${n}`);
  const lists: [string, unknown[], number][] = [
    ['features_per_stage', arch.features_per_stage, n],
    ['kernel_sizes', arch.kernel_sizes, n],
    ['strides', arch.strides, n],
    [depthField, depth, n],
    ['n_conv_per_stage_decoder', arch.n_conv_per_stage_decoder, n - 1],
  ];
  for (const [field, list, want] of lists) {
    if (!Array.isArray(list)) fail(`${field} must be a list, got ${JSON.stringify(list)}`);
    else if (list.length !== want) fail(`n_stages is ${n}, so ${field} needs ${want} entries, but it has ${list.length}`);
  }
  const dims = arch.kernel_sizes[0].length;
  for (const field of ['kernel_sizes', 'strides'] as const) {
    arch[field].forEach((v, s) => {
      if (v.length !== dims) fail(`${field}[${s}] has ${v.length} axes, but kernel_sizes[0] has ${dims}`);
    });
  }
  depth.forEach((d, s) => {
    if (!Number.isInteger(d) || d < 1) fail(`${depthField}[${s}] must be a positive integer, got ${d}`);
  });
  return {
    inputChannels,
    numClasses,
    featuresPerStage: arch.features_per_stage,
    kernelSizes: arch.kernel_sizes,
    strides: arch.strides,
    nConvPerStageDecoder: arch.n_conv_per_stage_decoder,
    convBias: arch.conv_bias,
    normEps: arch.norm_op_kwargs?.eps ?? 1e-5,
    leakySlope: arch.nonlin_kwargs?.negative_slope ?? 1e-2,
    leakyInplace: arch.nonlin_kwargs?.inplace ?? false,
  };
}

export function architectureFromPlans(arch: PlainConvUNetArchKwargs, inputChannels: number, numClasses: number): UNetArchitecture {
  return { ...commonFromPlans(arch, 'n_conv_per_stage', arch.n_conv_per_stage, inputChannels, numClasses), nConvPerStage: arch.n_conv_per_stage };
}

export function residualEncoderArchitectureFromPlans(arch: ResidualEncoderUNetArchKwargs, inputChannels: number, numClasses: number): ResidualEncoderUNetArchitecture {
  return { ...commonFromPlans(arch, 'n_blocks_per_stage', arch.n_blocks_per_stage, inputChannels, numClasses), nBlocksPerStage: arch.n_blocks_per_stage };
}

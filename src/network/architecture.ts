// The network description nnU-Net plans carry (architecture.arch_kwargs of a PlainConvUNet), as the network needs it.

export interface UNetArchitecture {
  inputChannels: number;
  numClasses: number;
  featuresPerStage: number[];
  kernelSizes: number[][];
  strides: number[][];
  nConvPerStage: number[];
  nConvPerStageDecoder: number[];
  convBias: boolean;
  normEps: number;
  leakySlope: number;
  /** LeakyReLU(inplace=True), as nnU-Net plans ask: one activation fewer kept for backward per conv. */
  leakyInplace: boolean;
}

/** The subset of a plans configuration's arch_kwargs this network reads. */
export interface PlainConvUNetArchKwargs {
  n_stages: number;
  features_per_stage: number[];
  kernel_sizes: number[][];
  strides: number[][];
  n_conv_per_stage: number[];
  n_conv_per_stage_decoder: number[];
  conv_bias: boolean;
  norm_op_kwargs?: { eps?: number };
  nonlin_kwargs?: { negative_slope?: number; inplace?: boolean };
}

export function architectureFromPlans(arch: PlainConvUNetArchKwargs, inputChannels: number, numClasses: number): UNetArchitecture {
  const n = arch.n_stages;
  const lengths = [arch.features_per_stage.length, arch.kernel_sizes.length, arch.strides.length, arch.n_conv_per_stage.length];
  if (lengths.some((l) => l !== n) || arch.n_conv_per_stage_decoder.length !== n - 1) {
    throw new Error(`plans architecture is inconsistent: n_stages ${n} but per-stage lists have lengths ${lengths.join(', ')} and decoder ${arch.n_conv_per_stage_decoder.length}`);
  }
  return {
    inputChannels,
    numClasses,
    featuresPerStage: arch.features_per_stage,
    kernelSizes: arch.kernel_sizes,
    strides: arch.strides,
    nConvPerStage: arch.n_conv_per_stage,
    nConvPerStageDecoder: arch.n_conv_per_stage_decoder,
    convBias: arch.conv_bias,
    normEps: arch.norm_op_kwargs?.eps ?? 1e-5,
    leakySlope: arch.nonlin_kwargs?.negative_slope ?? 1e-2,
    leakyInplace: arch.nonlin_kwargs?.inplace ?? false,
  };
}

/**
 * U-Net topology rules of nnU-Net v2: `get_pool_and_conv_props` / `pad_shape`
 * (`experiment_planning/experiment_planners/network_topology.py`) and the VRAM proxy the planners shrink patches
 * by, `compute_conv_feature_map_size` of dynamic_network_architectures' PlainConvUNet (`unet.py`,
 * `plain_conv_encoder.py`) and ResidualEncoderUNet (`residual_encoders.py`, `residual.py`), both with
 * `unet_decoder.py` and `simple_conv_blocks.py`. Numbers here must match upstream exactly, quirks included,
 * because they decide patch and batch sizes.
 */

export interface PoolAndConvProps {
  numPoolPerAxis: number[];
  /** Per stage; the first is all ones (no downsampling in the first stage). */
  poolOpKernelSizes: number[][];
  /** Per stage; the last (bottleneck) is always all threes. */
  convKernelSizes: number[][];
  /** The input patch padded up to a multiple of `shapeMustBeDivisibleBy`. */
  patchSize: number[];
  shapeMustBeDivisibleBy: number[];
}

/** Rounds `shape` up to the next multiple of `divisor` per axis (an exact multiple stays). Truncates to int. */
export function padShape(shape: readonly number[], divisor: readonly number[]): number[] {
  return shape.map((s, i) => {
    let padded = s + divisor[i] - (s % divisor[i]);
    if (s % divisor[i] === 0) padded -= divisor[i];
    return Math.trunc(padded);
  });
}

/**
 * Repeatedly pools (stride 2) every axis whose current size is at least 2·minFeatureMapSize and whose current
 * spacing is within a factor of 2 of the smallest one; a lone such axis needs 3·minFeatureMapSize.
 * Sizes may be fractional (median shapes), as upstream.
 */
export function getPoolAndConvProps(
  spacing: readonly number[],
  patchSize: readonly number[],
  minFeatureMapSize: number,
  maxNumPool: number,
): PoolAndConvProps {
  const dim = spacing.length;
  const currentSpacing = [...spacing];
  const currentSize = [...patchSize];
  const poolOpKernelSizes: number[][] = [new Array<number>(dim).fill(1)];
  const convKernelSizes: number[][] = [];
  const numPoolPerAxis = new Array<number>(dim).fill(0);
  const kernelSize = new Array<number>(dim).fill(1);

  for (;;) {
    const bigEnough: number[] = [];
    for (let i = 0; i < dim; i++) if (currentSize[i] >= 2 * minFeatureMapSize) bigEnough.push(i);
    if (bigEnough.length < 1) break;
    const minSpacingOfValid = Math.min(...bigEnough.map((i) => currentSpacing[i]));
    const valid = bigEnough
      .filter((i) => currentSpacing[i] / minSpacingOfValid < 2)
      .filter((i) => numPoolPerAxis[i] < maxNumPool);
    if (valid.length === 1 && currentSize[valid[0]] < 3 * minFeatureMapSize) break;
    if (valid.length < 1) break;

    // Kernel 3 once an axis' spacing is within 2x of the finest; it stays 3. (Early v2 releases compared the
    // spacing list of the poolable axes here, indexed by axis number, which raised IndexError when an axis was
    // too small to pool: MIC-DKFZ/nnUNet#1555, #1583, #1587. Both agree whenever every axis is poolable.)
    const minCurrentSpacing = Math.min(...currentSpacing);
    for (let d = 0; d < dim; d++) {
      if (kernelSize[d] !== 3 && currentSpacing[d] / minCurrentSpacing < 2) kernelSize[d] = 3;
    }

    const pool = new Array<number>(dim).fill(1);
    for (const v of valid) {
      pool[v] = 2;
      numPoolPerAxis[v] += 1;
      currentSpacing[v] *= 2;
      currentSize[v] = Math.ceil(currentSize[v] / 2);
    }
    poolOpKernelSizes.push(pool);
    convKernelSizes.push([...kernelSize]);
  }

  const shapeMustBeDivisibleBy = numPoolPerAxis.map((n) => 2 ** n);
  convKernelSizes.push(new Array<number>(dim).fill(3));
  return {
    numPoolPerAxis,
    poolOpKernelSizes,
    convKernelSizes,
    patchSize: padShape(patchSize, shapeMustBeDivisibleBy),
    shapeMustBeDivisibleBy,
  };
}

/** The parts of PlainConvUNet's arch_kwargs that its feature-map count depends on. */
export interface PlainConvUNetShape {
  features_per_stage: readonly number[];
  strides: readonly (readonly number[])[];
  n_conv_per_stage: readonly number[];
  n_conv_per_stage_decoder: readonly number[];
}

/** The parts of ResidualEncoderUNet's arch_kwargs that its feature-map count depends on. */
export interface ResidualEncoderUNetShape {
  features_per_stage: readonly number[];
  strides: readonly (readonly number[])[];
  n_blocks_per_stage: readonly number[];
  n_conv_per_stage_decoder: readonly number[];
}

type Decoder = Pick<PlainConvUNetShape, 'features_per_stage' | 'strides' | 'n_conv_per_stage_decoder'>;

const voxelsOf = (size: readonly number[]): number => size.reduce((a, b) => a * b, 1);

/** "Same"-padded conv output size: input // stride per axis. */
const strided = (size: readonly number[], stride: readonly number[]): number[] => size.map((v, i) => Math.floor(v / stride[i]));

/**
 * `UNetDecoder.compute_conv_feature_map_size`: per level (lowest first) the conv stack and the transposed conv
 * at the skip's size and channels, plus the segmentation head of that level when deep supervision is on, else
 * only the last (highest-resolution) one.
 */
function decoderFeatureMapSize(arch: Decoder, patchSize: readonly number[], numClasses: number, deepSupervision: boolean): number {
  const nStages = arch.strides.length;
  // Skip sizes: output size of every encoder stage except the bottleneck.
  const skipSizes: number[][] = [];
  let size = [...patchSize];
  for (let s = 0; s < nStages - 1; s++) {
    size = strided(size, arch.strides[s]);
    skipSizes.push(size);
  }
  let total = 0;
  const decoderStages = nStages - 1;
  for (let s = 0; s < decoderStages; s++) {
    const voxels = voxelsOf(skipSizes[skipSizes.length - 1 - s]);
    const channels = arch.features_per_stage[nStages - 2 - s];
    total += arch.n_conv_per_stage_decoder[s] * channels * voxels; // conv stack
    total += channels * voxels; // transposed conv
    if (deepSupervision || s === decoderStages - 1) total += numClasses * voxels; // segmentation head
  }
  return total;
}

/**
 * `PlainConvUNet.compute_conv_feature_map_size(patch)`: the summed size of all conv outputs (encoder stacks,
 * decoder transposed convs and stacks, segmentation heads). The planner builds the net without deep
 * supervision, so only the last segmentation head counts unless `deepSupervision` is set.
 */
export function computeConvFeatureMapSize(
  arch: PlainConvUNetShape,
  patchSize: readonly number[],
  numClasses: number,
  deepSupervision = false,
): number {
  let total = 0;
  let size = [...patchSize];
  for (let s = 0; s < arch.strides.length; s++) {
    // StackedConvBlocks: the first conv strides, all convs output at the strided size
    size = strided(size, arch.strides[s]);
    total += arch.n_conv_per_stage[s] * arch.features_per_stage[s] * voxelsOf(size);
  }
  return total + decoderFeatureMapSize(arch, patchSize, numClasses, deepSupervision);
}

/**
 * `ResidualEncoderUNet.compute_conv_feature_map_size(patch)` (BasicBlockD encoder, default stem). The stem is
 * one conv to features[0] at full size. Each BasicBlockD counts conv1 and conv2 at its strided size; the
 * first block of a stage also counts its skip path when channels or spatial size change. Upstream counts that
 * skip even when it is only an average pool (stride without a channel change, as at the bottleneck), and we
 * must too, since the estimate decides the patch.
 */
export function computeResEncConvFeatureMapSize(
  arch: ResidualEncoderUNetShape,
  patchSize: readonly number[],
  numClasses: number,
  deepSupervision = false,
): number {
  let total = arch.features_per_stage[0] * voxelsOf(patchSize); // stem
  let size = [...patchSize];
  let inputChannels = arch.features_per_stage[0];
  for (let s = 0; s < arch.strides.length; s++) {
    const channels = arch.features_per_stage[s];
    const after = strided(size, arch.strides[s]);
    const hasSkip = inputChannels !== channels || after.some((v, i) => v !== size[i]);
    total += (2 * arch.n_blocks_per_stage[s] + (hasSkip ? 1 : 0)) * channels * voxelsOf(after);
    size = after;
    inputChannels = channels;
  }
  return total + decoderFeatureMapSize(arch, patchSize, numClasses, deepSupervision);
}

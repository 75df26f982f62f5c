/**
 * nnU-Net's default planner, `ExperimentPlanner` (`default_experiment_planner.py`, v2.8): PlainConvUNet with two
 * convs per stage, the 8 GB reference values, the 5% batch cap.
 */
import { computeConvFeatureMapSize } from '../network-topology.js';
import type { ArchKwargs } from '../plans-schema.js';
import type { PlannerPreset, UNetFamily } from './core.js';

export const PLAIN_CONV_UNET: UNetFamily = {
  className: 'dynamic_network_architectures.architectures.unet.PlainConvUNet',
  encoderDepthKey: 'n_conv_per_stage',
  featureMapSize: (k: ArchKwargs, patch, numClasses) => {
    if (k.n_conv_per_stage === undefined) throw new Error('PlainConvUNet arch_kwargs need n_conv_per_stage');
    return computeConvFeatureMapSize({ ...k, n_conv_per_stage: k.n_conv_per_stage }, patch, numClasses);
  },
};

/** Line numbers: default_experiment_planner.py at nnU-Net v2.8.1. */
export const EXPERIMENT_PLANNER: PlannerPreset = {
  name: 'ExperimentPlanner',
  summary: "nnU-Net's default U-Net (PlainConvUNet), planned for 8 GB of GPU memory; plans nnUNetPlans",
  plansName: 'nnUNetPlans', // :27
  gpuMemoryTargetGB: 8, // :26
  warnOnOtherGpuTarget: false,
  referenceCorrespGB: 8, // :57
  referenceVal3d: 560_000_000, // :54
  referenceVal2d: 85_000_000, // :55
  maxDatasetCovered: 0.05, // :66
  network: PLAIN_CONV_UNET, // :51
  blocksPerStageEncoder: new Array<number>(14).fill(2), // :61
  blocksPerStageDecoder: new Array<number>(13).fill(2), // :62
  // :321: the references were measured at batch 2 / 12, so the estimate is scaled to the minimum batch of 2
  exceedsReference: (estimate, reference, referenceBatchSize) => (estimate / referenceBatchSize) * 2 > reference,
  dataIdentifier: (plansName, configuration) => `${plansName}_${configuration}`, // :562-568
};

export const DEFAULT_PLANNERS: readonly PlannerPreset[] = [EXPERIMENT_PLANNER];

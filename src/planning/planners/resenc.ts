/**
 * nnU-Net's residual-encoder planners (`experiment_planners/residual_unets/residual_encoder_unet_planners.py`,
 * v2.8; line numbers refer to it): `ResEncUNetPlanner` and the presets `nnUNetPlannerResEnc{M,L,XL}` of
 * "nnU-Net Revisited" (documentation/resenc_presets.md). ResidualEncoderUNet with (1, 3, 4, 6, 6, 6, ...) blocks
 * per encoder stage and one conv per decoder stage; the presets differ only in GPU memory target and reference
 * values, and drop the 5% batch cap.
 */
import { computeResEncConvFeatureMapSize } from '../network-topology.js';
import type { ArchKwargs } from '../plans-schema.js';
import type { PlannerPreset, UNetFamily } from './core.js';

export const RESIDUAL_ENCODER_UNET: UNetFamily = {
  className: 'dynamic_network_architectures.architectures.unet.ResidualEncoderUNet',
  encoderDepthKey: 'n_blocks_per_stage',
  featureMapSize: (k: ArchKwargs, patch, numClasses) => {
    if (k.n_blocks_per_stage === undefined) throw new Error('ResidualEncoderUNet arch_kwargs need n_blocks_per_stage');
    return computeResEncConvFeatureMapSize({ ...k, n_blocks_per_stage: k.n_blocks_per_stage }, patch, numClasses);
  },
};

/** `ResEncUNetPlanner` (:16-42); the presets below change only the numbers. */
export const RES_ENC_UNET_PLANNER: PlannerPreset = {
  name: 'ResEncUNetPlanner',
  summary: 'the residual-encoder U-Net base, 8 GB and the default 5% batch cap (prefer the M/L/XL presets); plans nnUNetResEncUNetPlans',
  plansName: 'nnUNetResEncUNetPlans', // :19
  gpuMemoryTargetGB: 8, // :18
  warnOnOtherGpuTarget: false,
  referenceCorrespGB: 8, // inherited (default_experiment_planner.py:57)
  referenceVal3d: 680_000_000, // :27
  referenceVal2d: 135_000_000, // :28
  maxDatasetCovered: 0.05, // inherited (default_experiment_planner.py:66)
  network: RESIDUAL_ENCODER_UNET, // :24
  blocksPerStageEncoder: [1, 3, 4, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6], // :29
  blocksPerStageDecoder: new Array<number>(12).fill(1), // :30
  // :134: no batch-size scaling, unlike ExperimentPlanner (same in 3d, where the reference batch is 2; not in 2d)
  exceedsReference: (estimate, reference) => estimate > reference,
  // :32-42: 2d and 3d_fullres preprocess exactly as ExperimentPlanner, so they reuse its data whatever the plans name
  dataIdentifier: (plansName, configuration) =>
    configuration === '2d' || configuration === '3d_fullres' ? `nnUNetPlans_${configuration}` : `${plansName}_${configuration}`,
};

/** A preset: GPU target = reference GB, no batch cap (`max_dataset_covered` 1), and a warning off-target. */
function preset(name: string, gpuGB: number, reference3d: number, reference2d: number, gpus: string): PlannerPreset {
  const size = name.slice('nnUNetPlannerResEnc'.length);
  return {
    ...RES_ENC_UNET_PLANNER,
    name,
    summary: `residual-encoder U-Net for GPUs with ${gpus}; plans nnUNetResEncUNet${size}Plans`,
    plansName: `nnUNetResEncUNet${size}Plans`,
    gpuMemoryTargetGB: gpuGB,
    warnOnOtherGpuTarget: true,
    referenceCorrespGB: gpuGB,
    referenceVal3d: reference3d,
    referenceVal2d: reference2d,
    maxDatasetCovered: 1,
  };
}

export const RESENC_PLANNERS: readonly PlannerPreset[] = [
  RES_ENC_UNET_PLANNER,
  // :220-243: 8 GB target, meant to need about as much VRAM as the default (~9-11 GB: RTX 2080 Ti, older Titans)
  preset('nnUNetPlannerResEncM', 8, 680_000_000, 135_000_000, '~9-11 GB VRAM (RTX 2080 Ti / older Titan class), targets 8 GB'),
  // :246-268
  preset('nnUNetPlannerResEncL', 24, 2_100_000_000, 380_000_000, '~24 GB VRAM (RTX 4090 / Titan RTX class), targets 24 GB'),
  // :271-293
  preset('nnUNetPlannerResEncXL', 40, 3_600_000_000, 560_000_000, '~40 GB VRAM (A100 40GB / RTX 6000 Ada class), targets 40 GB'),
];

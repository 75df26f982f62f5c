// nnU-Net's augmentation set-up derived from the patch size alone: rotation range, dummy-2D flag, mirror axes, the
// enlarged patch the data loader must crop so that rotation/scaling does not pull in padding
// (nnUNetTrainer.configure_rotation_dummyDA_mirroring_and_inital_patch_size and compute_initial_patch_size.get_patch_size),
// and the deep-supervision scales.
import type { Range } from './random-scalar.js';
import { rotation2d, rotationX, rotationY, rotationZ, rowTimes } from './rotation-matrices.js';

/** 3D patches whose largest axis exceeds this multiple of the first axis are augmented slice-wise (nnU-Net ANISO_THRESHOLD). */
export const ANISO_THRESHOLD = 3;

const degrees = (d: number): number => (d / 360) * 2 * Math.PI;

function maxAbs(rot: number | Range): number {
  return typeof rot === 'number' ? rot : Math.max(Math.abs(rot[0]), Math.abs(rot[1]));
}

/**
 * The input patch size that covers `finalPatch` after any rotation up to the given angles (each capped at 90°, one axis
 * at a time) and any scaling down to min(scaleRange): per axis the maximum |coordinate| of the patch-size vector rotated
 * about x, y, z (3D; about the single axis in 2D), divided by min(scaleRange), truncated to an integer.
 */
export function computeInitialPatchSize(finalPatch: number[], rotX: number | Range, rotY: number | Range, rotZ: number | Range, scaleRange: Range): number[] {
  const [ax, ay, az] = [rotX, rotY, rotZ].map((r) => Math.min(degrees(90), maxAbs(r)));
  const rotated =
    finalPatch.length === 3
      ? [rotationX(ax), rotationY(ay), rotationZ(az)].map((m) => rowTimes(finalPatch, m))
      : [rowTimes(finalPatch, rotation2d(ax))];
  const shape = finalPatch.map((n, i) => Math.max(n, ...rotated.map((v) => Math.abs(v[i]))));
  return shape.map((v) => Math.trunc(v / Math.min(...scaleRange)));
}

export interface AugmentationSetup {
  /** Rotation angle range in radians. */
  rotation: Range;
  doDummy2D: boolean;
  initialPatchSize: number[];
  mirrorAxes: number[];
}

/** The enlarged input patch for a rotation range: nnU-Net keeps the old (0.85, 1.25) scale range here, not the (0.7, 1.4)
 * it augments with, and under dummy-2D leaves the first (slice) axis at its final size. */
export function initialPatchSize(patchSize: number[], rotation: Range, doDummy2D: boolean): number[] {
  const size = computeInitialPatchSize(patchSize, rotation, rotation, rotation, [0.85, 1.25]);
  if (doDummy2D) size[0] = patchSize[0];
  return size;
}

/** nnU-Net's rule for the rotation range, dummy-2D, mirror axes and initial patch size from the patch size alone. */
export function configureRotationDummy2DMirroring(patchSize: number[]): AugmentationSetup {
  const dim = patchSize.length;
  let rotation: Range;
  let doDummy2D = false;
  if (dim === 2) {
    const elongated = Math.max(...patchSize) / Math.min(...patchSize) > 1.5;
    rotation = elongated ? [-degrees(15), degrees(15)] : [-degrees(180), degrees(180)];
  } else if (dim === 3) {
    doDummy2D = Math.max(...patchSize) / patchSize[0] > ANISO_THRESHOLD;
    rotation = doDummy2D ? [-degrees(180), degrees(180)] : [-degrees(30), degrees(30)];
  } else {
    throw new Error(`patch size must have 2 or 3 axes, got [${patchSize}]`);
  }
  return { rotation, doDummy2D, initialPatchSize: initialPatchSize(patchSize, rotation, doDummy2D), mirrorAxes: dim === 2 ? [0, 1] : [0, 1, 2] };
}

/** Deep-supervision scales: 1 / cumulative product of the pooling strides per axis, without the coarsest stage. */
export function deepSupervisionScales(poolStrides: number[][]): number[][] {
  const cumulative = poolStrides.map((_, i) => poolStrides[0].map((__, axis) => poolStrides.slice(0, i + 1).reduce((p, s) => p * s[axis], 1)));
  return cumulative.slice(0, -1).map((c) => c.map((v) => 1 / v));
}

// The shape and spacing rules preprocessing and export share (nnU-Net's compute_new_shape and the separate-z decision
// of resample_data_or_seg_to_shape), engine-free.
import { roundHalfEven } from '../inference/tiles.js';

/** `nnunetv2.configuration.ANISO_THRESHOLD`. */
export const ANISO_THRESHOLD = 3;

/** `compute_new_shape`: round(old_spacing / new_spacing * old_shape) per axis. */
export function computeNewShape(oldShape: readonly number[], oldSpacing: readonly number[], newSpacing: readonly number[]): number[] {
  return oldShape.map((s, i) => roundHalfEven((oldSpacing[i] / newSpacing[i]) * s));
}

/**
 * How `resample_data_or_seg_to_shape` applies the planned kwargs to one case: with `force_separate_z` null,
 * resample separately along z (in-plane with `order`, out-of-plane with `order_z`) when max/min spacing exceeds
 * 3 in the current spacing, else in the target spacing; the low-resolution axis is the one with the largest
 * spacing, and ties (2 or 3 such axes) turn separate-z off.
 */
export function resolveSeparateZ(currentSpacing: readonly number[], newSpacing: readonly number[], forceSeparateZ: boolean | null): { separateZ: boolean; axis: number | null } {
  const isAniso = (s: readonly number[]): boolean => Math.max(...s) / Math.min(...s) > ANISO_THRESHOLD;
  const lowresAxes = (s: readonly number[]): number[] => {
    const m = Math.max(...s);
    return s.map((v, i) => (m / v === 1 ? i : -1)).filter((i) => i >= 0);
  };
  let axes: number[] | null;
  if (forceSeparateZ !== null) axes = forceSeparateZ ? lowresAxes(currentSpacing) : null;
  else if (isAniso(currentSpacing)) axes = lowresAxes(currentSpacing);
  else if (isAniso(newSpacing)) axes = lowresAxes(newSpacing);
  else axes = null;
  const separateZ = axes !== null && axes.length === 1;
  return { separateZ, axis: separateZ && axes !== null ? axes[0] : null };
}

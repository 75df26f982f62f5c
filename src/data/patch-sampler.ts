// nnU-Net's patch sampling (nnUNetDataLoader.get_bbox): random cases with replacement, the last third of each batch
// forced onto a voxel of a random present class, patches padded (image 0, seg -1) where they overhang the case. With an
// ignore label the other patches are centred on a random annotated voxel, so that every patch has something to learn.
import { isAnnotatedClassesKey } from '../planning/label-rules.js';
import type { Generator } from '../torch/index.js';

export interface CaseForSampling {
  /** spatial shape of the stored case ([z, y, x]) */
  shape: number[];
  /**
   * per class label (and, with an ignore label, under LabelManager.annotatedClassesKey for any annotated voxel):
   * voxel indices [z, y, x] in the stored array
   */
  classLocations: Record<string, number[][]>;
}

/** Sample j of a batch of size bs is forced to foreground iff j >= round(bs·(1 − p)) (nnU-Net's deterministic rule). */
export function forceForeground(j: number, batchSize: number, oversampleForeground = 0.33): boolean {
  return j >= Math.round(batchSize * (1 - oversampleForeground));
}

/**
 * The class_locations key a patch is centred on, or null for a uniformly random patch. Forced: a random class with
 * voxels in this case, the annotated key only when nothing else is present. Not forced: the annotated key when the
 * dataset has an ignore label (preprocessing stored it) and this case has annotated voxels.
 */
export function pickClass(locations: Record<string, number[][]>, forceFg: boolean, rng: Generator): string | null {
  const keys = Object.keys(locations);
  const annotated = keys.find(isAnnotatedClassesKey) ?? null;
  if (!forceFg) return annotated !== null && locations[annotated].length > 0 ? annotated : null;
  let eligible = keys.filter((k) => locations[k].length > 0);
  if (eligible.length > 1) eligible = eligible.filter((k) => k !== annotated);
  return eligible.length === 0 ? null : eligible[rng.integer(0, eligible.length)];
}

/** Lower corner of a patch (may be negative / overhang: the crop pads). `shape` and `patch` have the same rank. */
export function sampleBbox(shape: number[], patch: number[], locations: Record<string, number[][]>, forceFg: boolean, rng: Generator): number[] {
  const needToPad = patch.map((p, d) => Math.max(0, p - shape[d]));
  const lbs = needToPad.map((n) => -Math.floor(n / 2));
  const ubs = shape.map((s, d) => s + Math.floor(needToPad[d] / 2) + (needToPad[d] % 2) - patch[d]);
  const cls = pickClass(locations, forceFg, rng);
  if (cls === null) return lbs.map((lb, d) => rng.integer(lb, ubs[d] + 1));
  const voxel = locations[cls][rng.integer(0, locations[cls].length)];
  const offset = voxel.length - shape.length;
  return lbs.map((lb, d) => Math.max(lb, voxel[d + offset] - Math.floor(patch[d] / 2)));
}

/**
 * For 2D configurations on 3D cases: the slice to train on (one holding the picked class, see pickClass) and the
 * in-plane class locations of that slice.
 */
export function sampleSlice(c: CaseForSampling, forceFg: boolean, rng: Generator): { slice: number; locations: Record<string, number[][]> } {
  const cls = pickClass(c.classLocations, forceFg, rng);
  if (cls === null) return { slice: rng.integer(0, c.shape[0]), locations: {} };
  const candidates = c.classLocations[cls];
  const slice = candidates[rng.integer(0, candidates.length)][0];
  return { slice, locations: { [cls]: candidates.filter((v) => v[0] === slice).map((v) => v.slice(1)) } };
}

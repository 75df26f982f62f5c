// nnU-Net's patch sampling: random cases with replacement, the last third of each batch forced onto a foreground
// voxel of a random present class, patches padded (image 0, seg -1) where they overhang the case.
import type { Generator } from '../torch/index.js';

export interface CaseForSampling {
  /** spatial shape of the stored case ([z, y, x]) */
  shape: number[];
  /** per class label: voxel indices [z, y, x] in the stored array */
  classLocations: Record<string, number[][]>;
}

/** Sample j of a batch of size bs is forced to foreground iff j >= round(bs·(1 − p)) (nnU-Net's deterministic rule). */
export function forceForeground(j: number, batchSize: number, oversampleForeground = 0.33): boolean {
  return j >= Math.round(batchSize * (1 - oversampleForeground));
}

/** Lower corner of a patch (may be negative / overhang: the crop pads). `shape` and `patch` have the same rank. */
export function sampleBbox(shape: number[], patch: number[], locations: Record<string, number[][]>, forceFg: boolean, rng: Generator): number[] {
  const needToPad = patch.map((p, d) => Math.max(0, p - shape[d]));
  const lbs = needToPad.map((n) => -Math.floor(n / 2));
  const ubs = shape.map((s, d) => s + Math.floor(needToPad[d] / 2) + (needToPad[d] % 2) - patch[d]);
  const eligible = forceFg ? Object.keys(locations).filter((c) => Number(c) > 0 && locations[c].length > 0) : [];
  if (eligible.length === 0) return lbs.map((lb, d) => rng.integer(lb, ubs[d] + 1));
  const cls = eligible[rng.integer(0, eligible.length)];
  const voxel = locations[cls][rng.integer(0, locations[cls].length)];
  const offset = voxel.length - shape.length;
  return lbs.map((lb, d) => Math.max(lb, voxel[d + offset] - Math.floor(patch[d] / 2)));
}

/**
 * For 2D configurations on 3D cases: the slice to train on (a slice holding the forced class when forcing foreground)
 * and the in-plane class locations of that slice.
 */
export function sampleSlice(c: CaseForSampling, forceFg: boolean, rng: Generator): { slice: number; locations: Record<string, number[][]> } {
  const eligible = forceFg ? Object.keys(c.classLocations).filter((k) => Number(k) > 0 && c.classLocations[k].length > 0) : [];
  if (eligible.length === 0) return { slice: rng.integer(0, c.shape[0]), locations: {} };
  const cls = eligible[rng.integer(0, eligible.length)];
  const candidates = c.classLocations[cls];
  const slice = candidates[rng.integer(0, candidates.length)][0];
  return { slice, locations: { [cls]: candidates.filter((v) => v[0] === slice).map((v) => v.slice(1)) } };
}

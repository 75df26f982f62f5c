// Random scalars as batchgeneratorsv2 samples them, drawn from a seeded Generator.
import type { Generator } from '../../torch/index.js';

export type Range = [number, number];

/** U(lo, hi); a degenerate range returns lo without a draw (BG2 sample_scalar). */
export function uniformIn(rng: Generator, [lo, hi]: Range): number {
  return lo === hi ? lo : rng.uniform(lo, hi);
}

/** BG2's BGContrast: with probability 0.5 (when lo < 1) U(lo, 1), otherwise U(max(lo, 1), hi). */
export function bgContrast(rng: Generator, [lo, hi]: Range): number {
  if (rng.random() < 0.5 && lo < 1) return uniformIn(rng, [lo, 1]);
  return uniformIn(rng, [Math.max(lo, 1), hi]);
}

/** Indices of the channels selected, each independently with probability p. */
export function pickChannels(rng: Generator, channels: number, p: number): number[] {
  const picked: number[] = [];
  for (let c = 0; c < channels; c++) if (rng.random() < p) picked.push(c);
  return picked;
}

/**
 * Dataset fingerprint, as nnU-Net v2's DatasetFingerprintExtractor
 * (`experiment_planning/dataset_fingerprint/fingerprint_extractor.py`) computes it: per case the spacing, the shape
 * after crop-to-nonzero and the relative size after cropping, plus foreground intensities (seg > 0) sampled with
 * replacement; per channel, statistics over all samples of all cases.
 *
 * The sampling uses a seeded xoshiro128** generator, re-seeded for every case as upstream re-seeds numpy's
 * RandomState(1234) per case. numpy's Mersenne-Twister draws are not reproduced, so the intensity statistics match
 * nnU-Net's statistically (same sample budget and procedure), not bit for bit. Spacings, shapes and relative sizes
 * match exactly.
 */
import { writeFileAtomic } from '../atomic-write.js';
import { readNifti } from '../io/nifti.js';
import { UserError } from '../errors.js';
import { cropToNonzero, voxelCount, type NumericArray } from './crop.js';
import type { DatasetFingerprint, IntensityProperties } from './plans-schema.js';

/** What the fingerprint needs from a loaded image or label: C-order data, shape and spacing in [z, y, x]. */
export interface VolumeLike {
  data: NumericArray;
  shape: number[];
  spacing: number[];
  path?: string;
}

export type VolumeReader = (path: string) => Promise<VolumeLike>;

/** One training case: its channel files (in channel order) and its label file. */
export interface FingerprintCase {
  identifier: string;
  images: string[];
  label: string;
}

/** Upstream's total foreground sample budget (10e7), split evenly over the cases. */
export const DEFAULT_FOREGROUND_SAMPLE_BUDGET = 10e7;
export const DEFAULT_FINGERPRINT_SEED = 1234;

/** xoshiro128** seeded through splitmix32; `nextBelow(n)` gives an integer in [0, n). */
export class SeededRandom {
  private s = new Uint32Array(4);

  constructor(seed: number) {
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
  }

  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, n) for n ≤ 2^32, from 53 random bits (bias below 2^-21 for any n). */
  nextBelow(n: number): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return Math.floor(((hi * 67108864 + lo) / 9007199254740992) * n);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/**
 * numpy's `percentile(values, q)` with the default linear method, on values sorted ascending (or with `placeRanks`
 * done for the floor of (q / 100)·(n − 1) and the index after it), including numpy's `_lerp`, which interpolates
 * from the upper neighbour when the fraction is ≥ 0.5.
 */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) throw new Error('percentile of an empty array');
  const virtualIndex = (q / 100) * (n - 1);
  if (virtualIndex >= n - 1) return sorted[n - 1];
  const lo = Math.floor(virtualIndex);
  const t = virtualIndex - lo;
  const a = sorted[lo];
  const b = sorted[lo + 1];
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/** numpy's `median`: the middle value, or the mean of the two middle values for even counts. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of an empty array');
  const sorted = Float64Array.from(values).sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Rearranges `values` in place so that each index in `ranks` holds the value an ascending sort would put there
 * (multi-quickselect with Floyd–Rivest partitioning): O(n) per rank, where the fingerprint's 10^8 pooled samples took
 * a full sort 15 s. Assumes no NaN (the fingerprint refuses images with NaN).
 */
export function placeRanks(values: Float32Array | Float64Array, ranks: readonly number[]): void {
  const sorted = [...new Set(ranks)].sort((a, b) => a - b);
  const place = (left: number, right: number, from: number, to: number): void => {
    if (from >= to || left > right) return;
    const mid = (from + to) >> 1;
    const k = sorted[mid];
    selectRank(values, k, left, right);
    place(left, k - 1, from, mid);
    place(k + 1, right, mid + 1, to);
  };
  place(0, values.length - 1, 0, sorted.length);
}

/** Floyd–Rivest selection: afterwards a[k] is the k-th smallest of a[left..right], smaller ones left of it, larger right. */
function selectRank(a: Float32Array | Float64Array, k: number, left: number, right: number): void {
  while (right > left) {
    // on large ranges, first narrow the pivot's range on a sample, so that a partition pass nearly always hits
    if (right - left > 600) {
      const n = right - left + 1;
      const m = k - left + 1;
      const z = Math.log(n);
      const s = 0.5 * Math.exp((2 * z) / 3);
      const sd = 0.5 * Math.sqrt((z * s * (n - s)) / n) * (m - n / 2 < 0 ? -1 : 1);
      selectRank(a, k, Math.max(left, Math.floor(k - (m * s) / n + sd)), Math.min(right, Math.floor(k + ((n - m) * s) / n + sd)));
    }
    const pivot = a[k];
    let i = left;
    let j = right;
    swap(a, left, k);
    if (a[right] > pivot) swap(a, left, right);
    while (i < j) {
      swap(a, i, j);
      i++;
      j--;
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
    }
    if (a[left] === pivot) swap(a, left, j);
    else {
      j++;
      swap(a, j, right);
    }
    if (j <= k) left = j + 1;
    if (k <= j) right = j - 1;
  }
}

function swap(a: Float32Array | Float64Array, i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}

const STAT_PERCENTILES = [0.5, 50, 99.5];

/**
 * Upstream's per-channel statistics: mean, median, population std, min, max and the 0.5 / 99.5 percentiles.
 * Reorders `values` in place (only the ranks the percentiles read are put where a sort would put them). Sums run in
 * float64 (numpy sums float32 samples in float32).
 */
export function intensityStatistics(values: Float32Array | Float64Array): IntensityProperties {
  const n = values.length;
  if (n === 0) throw new Error('no foreground intensities to summarise');
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i];
  const mean = sum / n;
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const d = values[i] - mean;
    sq += d * d;
  }
  // the two neighbours each linear percentile reads, and the ends for min and max
  const ranks = [0, n - 1];
  for (const q of STAT_PERCENTILES) {
    const lo = Math.floor((q / 100) * (n - 1));
    ranks.push(lo, Math.min(lo + 1, n - 1));
  }
  placeRanks(values, ranks);
  return {
    max: values[n - 1],
    mean,
    median: percentile(values, 50),
    min: values[0],
    percentile_00_5: percentile(values, 0.5),
    percentile_99_5: percentile(values, 99.5),
    std: Math.sqrt(sq / n),
  };
}

export interface CaseAnalysis {
  spacing: number[];
  shapeAfterCrop: number[];
  relativeSizeAfterCrop: number;
  /** Per channel, `numSamples` float32 intensities drawn with replacement from the foreground (empty if none). */
  foregroundSamples: Float32Array[];
}

function describe(v: VolumeLike, fallback: string): string {
  return v.path ?? fallback;
}

/** `analyze_case`: crop to nonzero, then sample foreground (seg > 0) intensities per channel. */
export function analyzeCase(images: readonly VolumeLike[], seg: VolumeLike, numSamples: number, seed: number): CaseAnalysis {
  if (images.length === 0) throw new Error('analyzeCase needs at least one image channel');
  const shape = images[0].shape;
  if (shape.length !== 3 || images[0].spacing.length !== 3) {
    throw new UserError(`${describe(images[0], 'channel 0')}: expected a 3D image, got shape [${shape}]`);
  }
  for (const [i, img] of images.entries()) {
    if (img.shape.length !== shape.length || img.shape.some((s, d) => s !== shape[d])) {
      throw new UserError(
        `${describe(img, `channel ${i}`)}: shape [${img.shape}] differs from channel 0 shape [${shape}]`,
      );
    }
    for (let j = 0; j < img.data.length; j++) {
      if (Number.isNaN(img.data[j])) throw new UserError(`${describe(img, `channel ${i}`)}: image contains NaN`);
    }
  }
  if (seg.shape.length !== shape.length || seg.shape.some((s, d) => s !== shape[d])) {
    throw new UserError(`${describe(seg, 'segmentation')}: shape [${seg.shape}] differs from image shape [${shape}]`);
  }
  // nnU-Net's readers hand over float32, so samples are float32 values.
  const channels = images.map((img) => (img.data instanceof Float32Array ? img.data : Float32Array.from(img.data)));
  const cropped = cropToNonzero(channels, shape, seg.data);

  let numForeground = 0;
  for (let i = 0; i < cropped.seg.length; i++) if (cropped.seg[i] > 0) numForeground++;
  const foreground = new Int32Array(numForeground);
  for (let i = 0, k = 0; i < cropped.seg.length; i++) if (cropped.seg[i] > 0) foreground[k++] = i;
  const rng = new SeededRandom(seed);
  const foregroundSamples = cropped.channels.map((channel) => {
    if (foreground.length === 0) return new Float32Array(0);
    const out = new Float32Array(numSamples);
    for (let k = 0; k < numSamples; k++) out[k] = channel[foreground[rng.nextBelow(foreground.length)]];
    return out;
  });
  return {
    spacing: [...images[0].spacing],
    shapeAfterCrop: cropped.shape,
    relativeSizeAfterCrop: voxelCount(cropped.shape) / voxelCount(shape),
    foregroundSamples,
  };
}

/** Builds `dataset_fingerprint.json`'s content (keys in upstream's sorted order) from the analysed cases. */
export function assembleFingerprint(cases: readonly CaseAnalysis[], numChannels: number): DatasetFingerprint {
  const perChannel: Record<string, IntensityProperties> = {};
  for (let c = 0; c < numChannels; c++) {
    const total = cases.reduce((acc, k) => acc + (k.foregroundSamples[c]?.length ?? 0), 0);
    const pooled = new Float32Array(total);
    let offset = 0;
    for (const k of cases) {
      const s = k.foregroundSamples[c];
      if (s === undefined) continue;
      pooled.set(s, offset);
      offset += s.length;
    }
    if (total === 0) throw new UserError(`fingerprint: no foreground voxels (label > 0) in any case for channel ${c}`);
    perChannel[String(c)] = intensityStatistics(pooled);
  }
  return {
    foreground_intensity_properties_per_channel: perChannel,
    median_relative_size_after_cropping: median(cases.map((k) => k.relativeSizeAfterCrop)),
    shapes_after_crop: cases.map((k) => k.shapeAfterCrop),
    spacings: cases.map((k) => k.spacing),
  };
}

export interface ExtractFingerprintOptions {
  /** Loads one image or label file (default `readNifti`). */
  readVolume?: VolumeReader;
  /** Cases read and analysed at the same time (default 4). */
  concurrency?: number;
  /** Total foreground samples over all cases (default 10e7, as upstream). */
  foregroundSampleBudget?: number;
  seed?: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Reads and analyses every case, a few at a time, and assembles the fingerprint.
 * Results keep the order of `cases` whatever order the reads finish in.
 */
export async function extractFingerprint(
  cases: readonly FingerprintCase[],
  options: ExtractFingerprintOptions = {},
): Promise<DatasetFingerprint> {
  const readVolume = options.readVolume ?? readNifti;
  if (cases.length === 0) throw new UserError('fingerprint: the dataset has no training cases');
  const numChannels = cases[0].images.length;
  for (const c of cases) {
    if (c.images.length !== numChannels) {
      throw new UserError(`fingerprint: case ${c.identifier} has ${c.images.length} channels, expected ${numChannels}`);
    }
  }
  const budget = options.foregroundSampleBudget ?? DEFAULT_FOREGROUND_SAMPLE_BUDGET;
  const samplesPerCase = Math.floor(budget / cases.length);
  const seed = options.seed ?? DEFAULT_FINGERPRINT_SEED;
  const concurrency = Math.max(1, options.concurrency ?? 4);

  const results = new Array<CaseAnalysis>(cases.length);
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < cases.length) {
      const index = next++;
      const c = cases[index];
      const [seg, ...images] = await Promise.all([readVolume(c.label), ...c.images.map((p) => readVolume(p))]);
      results[index] = analyzeCase(images, seg, samplesPerCase, seed);
      done++;
      options.onProgress?.(done, cases.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, cases.length) }, worker));
  return assembleFingerprint(results, numChannels);
}

/** Writes the fingerprint as upstream does (4-space indent), atomically. */
export async function writeFingerprint(file: string, fingerprint: DatasetFingerprint): Promise<void> {
  await writeFileAtomic(file, new TextEncoder().encode(JSON.stringify(fingerprint, null, 4)));
}

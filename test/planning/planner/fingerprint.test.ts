import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { UserError } from '../../../src/errors.js';
import {
  analyzeCase,
  extractFingerprint,
  intensityStatistics,
  median,
  percentile,
  placeRanks,
  SeededRandom,
  writeFingerprint,
  type VolumeLike,
} from '../../../src/planning/fingerprint.js';
import { readFingerprintFile } from '../../../src/planning/plans-schema.js';
import { referenceUnavailable, runReference } from './python-reference.js';

function closeTo(actual: number, expected: number, relTol: number, what: string): void {
  const scale = Math.max(Math.abs(expected), 1e-300);
  assert.ok(Math.abs(actual - expected) / scale <= relTol, `${what}: ${actual} vs ${expected}`);
}

test('percentile (linear) and median equal numpy on random data', (t) => {
  const why = referenceUnavailable(['numpy']);
  if (why) return t.skip(why);
  const rng = new SeededRandom(11);
  const qs = [0, 0.5, 10, 25, 50, 75, 99.5, 100];
  for (const n of [1, 2, 3, 10, 199, 1000, 1001]) {
    const values = Array.from({ length: n }, () => (rng.nextBelow(2 ** 31) - 2 ** 30) / 997.3);
    const expected = runReference<number[]>('percentile', { values, q: qs });
    const sorted = Float64Array.from(values).sort();
    qs.forEach((q, i) => assert.equal(percentile(sorted, q), expected[i], `n=${n} q=${q}`));
    assert.equal(median(values), runReference<number>('median', { values }), `median n=${n}`);
  }
});

test('placeRanks puts the asked ranks where a full sort puts them, duplicates and ties included', () => {
  const rng = new SeededRandom(5);
  for (const [n, distinct] of [[1, 1], [2, 2], [7, 3], [601, 1000], [5000, 4], [100_003, 1_000_000], [100_003, 17]] as const) {
    const values = Float32Array.from({ length: n }, () => rng.nextBelow(distinct) - distinct / 3);
    const sorted = values.slice().sort();
    const ranks = [0, n - 1, Math.floor(n / 2), Math.floor(0.005 * (n - 1)), Math.min(n - 1, Math.floor(0.995 * (n - 1)) + 1), rng.nextBelow(n)];
    const placed = values.slice();
    placeRanks(placed, ranks);
    for (const r of ranks) assert.equal(placed[r], sorted[r], `n=${n} distinct=${distinct} rank ${r}`);
    // a permutation of the input: same multiset
    assert.deepEqual(placed.slice().sort(), sorted);
  }
});

test('intensity statistics equal numpy on float32 samples', (t) => {
  const why = referenceUnavailable(['numpy']);
  if (why) return t.skip(why);
  const rng = new SeededRandom(3);
  // skewed, with repeats, like CT foreground intensities
  const values = Float32Array.from({ length: 20011 }, () => {
    const u = rng.nextBelow(1_000_000) / 1_000_000;
    return Math.round(-200 + 1500 * u * u * u);
  });
  const ref = runReference<Record<string, number>>('stats', { values: Array.from(values) });
  const stats = intensityStatistics(values.slice());
  assert.equal(stats.percentile_00_5, ref.percentile_00_5);
  assert.equal(stats.percentile_99_5, ref.percentile_99_5);
  assert.equal(stats.median, ref.median);
  assert.equal(stats.min, ref.min);
  assert.equal(stats.max, ref.max);
  // Float64 sums (pairwise in numpy, sequential here): equal to rounding.
  closeTo(stats.mean, ref.mean, 1e-12, 'mean');
  closeTo(stats.std, ref.std, 1e-12, 'std');
  // nnU-Net's own numbers come from float32 sums and differ only in the last float32 digits.
  closeTo(stats.mean, ref.mean_float32, 1e-5, 'mean vs float32 numpy');
  closeTo(stats.std, ref.std_float32, 1e-5, 'std vs float32 numpy');
});

/** A [4, 5, 6] case: zero border, a nonzero 2x3x4 block with labels 1/2 in part of it. */
function syntheticCase(offset: number): { image: VolumeLike; seg: VolumeLike; fgValues: Set<number> } {
  const shape = [4, 5, 6];
  const image = new Float32Array(120);
  const seg = new Uint8Array(120);
  const fgValues = new Set<number>();
  for (let z = 1; z < 3; z++)
    for (let y = 1; y < 4; y++)
      for (let x = 1; x < 5; x++) {
        const i = z * 30 + y * 6 + x;
        image[i] = offset + i;
        if (x >= 3) {
          seg[i] = z;
          fgValues.add(offset + i);
        }
      }
  return {
    image: { data: image, shape, spacing: [2.5, 0.7, 0.7] },
    seg: { data: seg, shape, spacing: [2.5, 0.7, 0.7] },
    fgValues,
  };
}

test('analyzeCase crops, measures and samples only foreground voxels, reproducibly', () => {
  const { image, seg, fgValues } = syntheticCase(100);
  const a = analyzeCase([image, image], seg, 5000, 1234);
  assert.deepEqual(a.shapeAfterCrop, [2, 3, 4]);
  assert.equal(a.relativeSizeAfterCrop, 24 / 120);
  assert.deepEqual(a.spacing, [2.5, 0.7, 0.7]);
  assert.equal(a.foregroundSamples.length, 2);
  for (const s of a.foregroundSamples) {
    assert.equal(s.length, 5000);
    assert.ok(s.every((v) => fgValues.has(v)));
  }
  // With replacement and uniform: every one of the 12 foreground voxels shows up, each ~1/12 of the time.
  const counts = new Map<number, number>();
  for (const v of a.foregroundSamples[0]) counts.set(v, (counts.get(v) ?? 0) + 1);
  assert.equal(counts.size, fgValues.size);
  for (const c of counts.values()) assert.ok(Math.abs(c / 5000 - 1 / 12) < 0.02, `frequency ${c / 5000}`);
  // Same seed, same samples; the second channel continues the stream (as numpy's RandomState does).
  const b = analyzeCase([image, image], seg, 5000, 1234);
  assert.deepEqual(b.foregroundSamples[0], a.foregroundSamples[0]);
  assert.notDeepEqual(a.foregroundSamples[1], a.foregroundSamples[0]);

  const empty = analyzeCase([image], { ...seg, data: new Uint8Array(120) }, 10, 1234);
  assert.equal(empty.foregroundSamples[0].length, 0);
  assert.throws(
    () => analyzeCase([image], { data: new Uint8Array(60), shape: [2, 5, 6], spacing: [1, 1, 1], path: 'x/seg.nii.gz' }, 10, 1),
    (e: unknown) => e instanceof UserError && /x\/seg\.nii\.gz/.test(e.message),
  );
});

test('extractFingerprint keeps case order, reports progress and pools the samples', async () => {
  const volumes = new Map<string, VolumeLike>();
  const cases = [0, 1, 2, 3, 4].map((k) => {
    const { image, seg } = syntheticCase(1000 * k);
    const spacing = [2.5 + k, 0.7, 0.7];
    volumes.set(`img${k}`, { ...image, spacing });
    volumes.set(`seg${k}`, { ...seg, spacing });
    return { identifier: `case${k}`, images: [`img${k}`], label: `seg${k}` };
  });
  // Later cases resolve sooner, so completion order differs from case order.
  const reader = async (p: string): Promise<VolumeLike> => {
    const k = Number(p.slice(3));
    await new Promise((r) => setTimeout(r, (5 - k) * 3));
    return volumes.get(p)!;
  };
  const progress: [number, number][] = [];
  const fp = await extractFingerprint(cases, {
    readVolume: reader,
    concurrency: 3,
    foregroundSampleBudget: 1003,
    onProgress: (done, total) => progress.push([done, total]),
  });
  assert.deepEqual(progress, [1, 2, 3, 4, 5].map((d) => [d, 5]));
  assert.deepEqual(fp.spacings, [0, 1, 2, 3, 4].map((k) => [2.5 + k, 0.7, 0.7]));
  assert.deepEqual(fp.shapes_after_crop, new Array(5).fill([2, 3, 4]));
  assert.equal(fp.median_relative_size_after_cropping, 0.2);

  // floor(1003 / 5) = 200 samples per case; pooled stats equal the stats of the per-case samples.
  const pooled = new Float32Array(1000);
  for (const [k, c] of cases.entries()) {
    const a = analyzeCase([volumes.get(c.images[0])!], volumes.get(c.label)!, 200, 1234);
    pooled.set(a.foregroundSamples[0], 200 * k);
  }
  assert.deepEqual(fp.foreground_intensity_properties_per_channel['0'], intensityStatistics(pooled));

  const dir = await mkdtemp(path.join(tmpdir(), 'fp-'));
  try {
    const file = path.join(dir, 'dataset_fingerprint.json');
    await writeFingerprint(file, fp);
    assert.deepEqual(await readFingerprintFile(file), fp);
  } finally {
    await rm(dir, { recursive: true });
  }
});

test('extractFingerprint rejects cases with differing channel counts', async () => {
  await assert.rejects(
    extractFingerprint(
      [
        { identifier: 'a', images: ['1', '2'], label: 's' },
        { identifier: 'b', images: ['1'], label: 's' },
      ],
      {
        readVolume: async () => {
          throw new Error('not reached');
        },
      },
    ),
    (e: unknown) => e instanceof UserError && /case b has 1 channels/.test(e.message),
  );
});

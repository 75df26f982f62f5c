// Normalization schemes against numpy computing upstream's formulas on the same float32 arrays.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalizeChannel } from '../../src/preprocessing/normalization.js';
import { UserError } from '../../src/errors.js';
import { tensor, tidy } from '../../src/torch/index.js';
import { pythonUnavailable, runPython } from '../io/reference-python.js';

const missing = pythonUnavailable(['numpy']);

const image = Array.from({ length: 60 }, (_, i) => (i % 7 === 0 ? 0 : 100 + 37 * Math.sin(i * 1.3) + i));
// -1 marks "outside the nonzero mask" as cropToNonzero does.
const seg = image.map((v, i) => (v === 0 ? -1 : i % 5 === 0 ? 2 : 0));
const ct = { mean: 110, std: 20, percentile_00_5: 80, percentile_99_5: 140, median: 105, min: 60, max: 170 };

const NUMPY = `
import json, sys
import numpy as np
image = np.array(json.loads(sys.argv[1]), dtype=np.float32)
seg = np.array(json.loads(sys.argv[2]))
p = json.loads(sys.argv[3])
z = image.copy(); mask = seg >= 0
z[mask] = (z[mask] - z[mask].mean()) / max(z[mask].std(), 1e-8)
plain = image.copy(); plain -= plain.mean(); plain /= max(plain.std(), 1e-8)
c = np.clip(image, p['percentile_00_5'], p['percentile_99_5']); c -= p['mean']; c /= max(p['std'], 1e-8)
r = image.copy(); r -= r.min(); r /= np.clip(r.max(), 1e-8, None)
print(json.dumps({'zmask': z.tolist(), 'z': plain.tolist(), 'ct': c.tolist(), 'rescale': r.tolist()}))
`;

function run(scheme: string, useMask: boolean): number[] {
  return tidy(() =>
    normalizeChannel(tensor(image, [60]), tensor(seg, [60], 'int16'), scheme, { useMaskForNorm: useMask, intensityProperties: ct }).toArray(),
  );
}

function maxError(a: number[], b: number[]): number {
  assert.equal(a.length, b.length);
  return Math.max(...a.map((v, i) => Math.abs(v - b[i])));
}

test('ZScore (with and without mask), CT, RescaleTo01 match numpy', (t) => {
  if (missing) return t.skip(missing);
  const ref = runPython<Record<string, number[]>>(NUMPY, [JSON.stringify(image), JSON.stringify(seg), JSON.stringify(ct)]);
  assert.ok(maxError(run('ZScoreNormalization', true), ref.zmask) < 1e-5);
  assert.ok(maxError(run('ZScoreNormalization', false), ref.z) < 1e-5);
  assert.ok(maxError(run('CTNormalization', false), ref.ct) < 1e-5);
  assert.ok(maxError(run('RescaleTo01Normalization', false), ref.rescale) < 1e-6);
});

test('masked ZScore leaves voxels outside the mask untouched; NoNorm and RGB are exact', () => {
  const z = run('ZScoreNormalization', true);
  seg.forEach((s, i) => {
    if (s < 0) assert.equal(z[i], 0);
  });
  assert.deepEqual(run('NoNormalization', false), Array.from(Float32Array.from(image)));
  const rgb = tidy(() => normalizeChannel(tensor([0, 51, 255], [3]), null, 'RGBTo01Normalization', { useMaskForNorm: false }).toArray());
  assert.deepEqual(rgb, [0, 0.2, 1].map((v) => Math.fround(v)));
});

test('user mistakes: unknown scheme, CT without statistics, RGB out of range', () => {
  tidy(() => {
    const x = tensor([1, 2, 300], [3]);
    assert.throws(() => normalizeChannel(x, null, 'Bogus', { useMaskForNorm: false }), (e: Error) => e instanceof UserError && /Bogus/.test(e.message));
    assert.throws(() => normalizeChannel(x, null, 'CTNormalization', { useMaskForNorm: false }), UserError);
    assert.throws(() => normalizeChannel(x, null, 'RGBTo01Normalization', { useMaskForNorm: false }), /\[0, 255\]/);
  });
});

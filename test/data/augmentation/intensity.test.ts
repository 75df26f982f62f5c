import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Generator, type Tensor, rand, randint, zeros } from '../../../src/torch/index.js';
import {
  bgContrast, blurKernelSize, contrast, gammaTransform, gaussianBlur, gaussianNoise, multiplicativeBrightness, simulateLowResolution,
} from '../../../src/data/augmentation/index.js';
import { pythonUnavailable, runPython } from '../../io/reference-python.js';

function close(actual: number[], expected: number[], tol = 1e-5): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) <= tol, `element ${i}: ${v} vs ${expected[i]}`));
}

/** The values of each channel of [C, ...] as plain arrays. */
function channels(t: Tensor): number[][] {
  const values = t.toArray();
  const n = values.length / t.size(0);
  return Array.from({ length: t.size(0) }, (_, c) => values.slice(c * n, (c + 1) * n));
}
const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;
const std = (v: number[]): number => Math.sqrt(v.reduce((a, b) => a + (b - mean(v)) ** 2, 0) / (v.length - 1));

function sample(seed: number, shape = [2, 6, 7, 5]): { image: Tensor; seg: Tensor } {
  const rng = new Generator(seed);
  return { image: rand(shape, rng).mul(4).sub(1), seg: randint(0, 3, [1, ...shape.slice(1)], rng, 'int16') };
}

test('BGContrast draws below 1 half of the time, in [lo, 1) and [1, hi]', () => {
  const rng = new Generator(1);
  const draws = Array.from({ length: 2000 }, () => bgContrast(rng, [0.75, 1.25]));
  const below = draws.filter((d) => d < 1);
  assert.ok(below.every((d) => d >= 0.75) && draws.every((d) => d <= 1.25));
  assert.ok(Math.abs(below.length / draws.length - 0.5) < 0.05, `${below.length} below 1`);
  // a range entirely above 1 is a plain uniform, and a degenerate one a constant
  assert.equal(bgContrast(rng, [1.3, 1.3]), 1.3);
});

test('Gaussian noise: one N(0, σ) field shared by all channels, σ from its range', () => {
  const s = sample(2, [2, 32, 32, 16]);
  const out = gaussianNoise({ p: 1, sigma: [0.05, 0.05] })(s, new Generator(3));
  const [d0, d1] = channels(out.image.sub(s.image));
  close(d0, d1, 1e-6);
  assert.ok(Math.abs(std(d0) - 0.05) < 0.002 && Math.abs(mean(d0)) < 0.002, `std ${std(d0)} mean ${mean(d0)}`);
});

test('multiplicative brightness multiplies each channel by its factor', () => {
  const s = sample(4);
  const out = multiplicativeBrightness({ p: 1, multiplier: [1.2, 1.2] })(s, new Generator(0));
  close(out.image.toArray(), s.image.toArray().map((v) => v * 1.2));
});

test('contrast: (x − mean)·f + mean per channel, clamped to the channel range', () => {
  const s = sample(5);
  const out = contrast({ p: 1, factor: [1.25, 1.25], preserveRange: true })(s, new Generator(0));
  const expected = channels(s.image).flatMap((v) => {
    const [m, lo, hi] = [mean(v), Math.min(...v), Math.max(...v)];
    return v.map((x) => Math.min(hi, Math.max(lo, (x - m) * 1.25 + m)));
  });
  close(out.image.toArray(), expected, 1e-5);
});

test('gamma (plain and inverted) follows the BG2 formula with retained mean and std', () => {
  const s = sample(6);
  for (const invert of [false, true]) {
    const out = gammaTransform({ p: 1, gamma: [1.5, 1.5], pInvert: invert ? 1 : 0, pRetainStats: 1 })(s, new Generator(0));
    const expected = channels(s.image).flatMap((raw) => {
      const v = raw.map((x) => (invert ? -x : x));
      const [lo, range] = [Math.min(...v), Math.max(...v) - Math.min(...v)];
      const g = v.map((x) => ((x - lo) / Math.max(range, 1e-7)) ** 1.5 * range + lo);
      const restored = g.map((x) => (x - mean(g)) * (std(v) / Math.max(std(g), 1e-7)) + mean(v));
      return restored.map((x) => (invert ? -x : x));
    });
    close(out.image.toArray(), expected, 1e-4);
  }
});

test('per-channel probabilities leave the other channels untouched', () => {
  const s = sample(8, [6, 4, 4, 4]);
  const out = multiplicativeBrightness({ p: 1, multiplier: [1.5, 1.5], pPerChannel: 0.5 })(s, new Generator(9));
  const changed = channels(out.image).map((v, c) => v.some((x, i) => x !== channels(s.image)[c][i]));
  assert.ok(changed.includes(true) && changed.includes(false), `changed ${changed}`);
});

test('blur kernel sizes follow BG2 (6σ + 0.5 to the nearest odd, Python rounding)', () => {
  assert.deepEqual([0.5, 0.6, 0.75, 0.9, 1].map((s) => blurKernelSize(s)), [3, 5, 5, 5, 7]);
});

test('blur and low resolution match reference torch (reflect-padded separable conv; nearest-exact down, trilinear up)', (t) => {
  const why = pythonUnavailable(['torch']);
  if (why) return t.skip(why);
  const s = sample(10, [2, 7, 9, 6]);
  const blurred = gaussianBlur({ p: 1, sigma: [0.5, 1], pPerChannel: 1 })(s, new Generator(12));
  // the sigmas drawn: replay the same generator (one p draw, C channel draws, then C·3 uniform draws)
  const replay = new Generator(12);
  replay.random();
  [0, 1].forEach(() => replay.random());
  const sigmas = [0, 1].map(() => [0, 1, 2].map(() => replay.uniform(0.5, 1)));
  const lowres = simulateLowResolution({ p: 1, scale: [0.55, 0.55], pPerChannel: 1 })(s, new Generator(0));
  const script = `
import sys, json, torch
import torch.nn.functional as F
d = json.loads(sys.argv[1]); img = torch.tensor(d['image']).reshape(d['shape'])
def kernel(sigma):
    n = sigma * 6 + 0.5; r = round(n)
    k = r if r % 2 == 1 else (r + 1 if n - r >= 0 else r - 1)
    x = torch.linspace(-(k - 1) / 2, (k - 1) / 2, k); w = torch.exp(-0.5 * (x / sigma) ** 2); return w / w.sum()
out = img.clone()
for c in range(img.shape[0]):
    x = img[c][None, None]
    for axis in range(3):
        w = kernel(d['sigmas'][c][axis]); k = len(w); shape = [1, 1, 1, 1, 1]; shape[2 + axis] = k
        pad = [0] * 6; pad[2 * (2 - axis)] = pad[2 * (2 - axis) + 1] = k // 2
        x = F.conv3d(F.pad(x, pad, mode='reflect'), w.reshape(shape))
    out[c] = x[0, 0]
low = img.clone()
for c in range(img.shape[0]):
    size = [round(n * 0.55) for n in d['shape'][1:]]
    low[c] = F.interpolate(F.interpolate(img[c][None, None], size, mode='nearest-exact'), d['shape'][1:], mode='trilinear')[0, 0]
print(json.dumps({'blur': out.flatten().tolist(), 'low': low.flatten().tolist()}))
`;
  const ref = runPython<{ blur: number[]; low: number[] }>(script, [JSON.stringify({ shape: s.image.shape, image: s.image.toArray(), sigmas })]);
  close(blurred.image.toArray(), ref.blur, 1e-5);
  close(lowres.image.toArray(), ref.low, 1e-5);
});

test('low resolution leaves ignored axes at full resolution', () => {
  // constant along axis 0, varying along 1: ignoring axis 1 and downsampling axis 0 changes nothing
  const image = zeros([1, 8, 8]).add(rand([1, 1, 8], new Generator(1)));
  const out = simulateLowResolution({ p: 1, scale: [0.5, 0.5], pPerChannel: 1, ignoreAxes: [1] })({ image, seg: zeros([1, 8, 8], 'int8') }, new Generator(0));
  close(out.image.toArray(), image.toArray());
  // without the ignored axis the same draw does change it
  const both = simulateLowResolution({ p: 1, scale: [0.5, 0.5], pPerChannel: 1 })({ image, seg: zeros([1, 8, 8], 'int8') }, new Generator(0));
  assert.ok(both.image.sub(image).abs().amax().item() > 1e-3);
});

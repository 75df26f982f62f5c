// Resampling: interpolate (all modes), affineGrid + gridSample in 2D and 3D, and gaussianSmooth against
// scipy.ndimage.gaussian_filter(mode='nearest', truncate=4).
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { F, Generator, type InterpolationMode, type Tensor, arange, full, rand, randn, tensor, zeros } from '../../src/torch/index.js';
import { type Exchange, assertClose, refTensor, referenceUnavailable, runTorch } from './torch-reference.js';

describe('known values', () => {
  test('interpolate', () => {
    const x = tensor([1, 2], [1, 1, 2]);
    assert.deepEqual(F.interpolate(x, { scaleFactor: [2] }).toArray(), [1, 1, 2, 2]);
    assert.deepEqual(F.interpolate(x, { size: [3], mode: 'linear', alignCorners: true }).toArray(), [1, 1.5, 2]);
    assert.deepEqual(F.interpolate(x, { size: [4], mode: 'linear', alignCorners: false }).toArray(), [1, 1.25, 1.75, 2]);
    // nearest picks floor(i·in/out); nearest-exact picks floor((i + ½)·in/out), the centre-aligned neighbour
    const r = tensor([0, 1, 2], [1, 1, 3]);
    assert.deepEqual(F.interpolate(r, { size: [5], mode: 'nearest' }).toArray(), [0, 0, 1, 1, 2]);
    assert.deepEqual(F.interpolate(r, { size: [5], mode: 'nearest-exact' }).toArray(), [0, 0, 1, 2, 2]);
    const img = arange(0, 16, 1, 'float32').reshape([1, 1, 4, 4]);
    assert.deepEqual(F.interpolate(img, { size: [2, 2], mode: 'bilinear', alignCorners: false }).toArray(), [2.5, 4.5, 10.5, 12.5]);
    const vol = full([1, 2, 2, 3, 4], 3);
    const up = F.interpolate(vol, { size: [5, 6, 7], mode: 'trilinear' });
    assert.deepEqual(up.shape, [1, 2, 5, 6, 7]);
    assertClose(up, full([1, 2, 5, 6, 7], 3), { atol: 1e-6 });
    assert.deepEqual(F.interpolate(img, { scaleFactor: [0.5, 0.5], mode: 'bicubic', alignCorners: true }).shape, [1, 1, 2, 2]);
  });

  test('an identity affine grid samples the input back', () => {
    const theta2 = tensor([1, 0, 0, 0, 1, 0], [1, 2, 3]);
    const x = randn([1, 2, 5, 6], new Generator(1));
    for (const alignCorners of [true, false]) {
      const grid = F.affineGrid(theta2, [1, 2, 5, 6], alignCorners);
      assert.deepEqual(grid.shape, [1, 5, 6, 2]);
      assertClose(F.gridSample(x, grid, { alignCorners }), x, { atol: 1e-5 });
    }
    const theta3 = tensor([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0], [1, 3, 4]);
    const v = randn([1, 1, 3, 4, 5], new Generator(2));
    const grid3 = F.affineGrid(theta3, [1, 1, 3, 4, 5], false);
    assert.deepEqual(grid3.shape, [1, 3, 4, 5, 3]);
    assertClose(F.gridSample(v, grid3, { mode: 'nearest' }), v, { atol: 0 });
  });

  test('grid coordinates: (x, y) order, corners at ±1 with alignCorners, zeros padding outside', () => {
    const img = arange(0, 6, 1, 'float32').reshape([1, 1, 2, 3]);
    // one sample at the top-right corner (x = 1, y = -1) and one outside the image
    const grid = tensor([1, -1, 3, 0], [1, 1, 2, 2]);
    assert.deepEqual(F.gridSample(img, grid, { alignCorners: true }).toArray(), [2, 0]);
    assert.deepEqual(F.gridSample(img, grid, { alignCorners: true, paddingMode: 'border' }).toArray(), [2, 3.5]);
  });

  test('gaussianSmooth keeps constants and mass, and skips σ = 0 axes', () => {
    const c = full([1, 2, 6, 7], 4);
    assertClose(F.gaussianSmooth(c, [1.5, 2]), c, { atol: 1e-5 });
    const delta = zeros([1, 1, 21]);
    delta.indexPut_([null, null, tensor(new BigInt64Array([10n]))], full([1], 1));
    const s = F.gaussianSmooth(delta, [2]);
    assert.ok(Math.abs(s.sum().item() - 1) < 1e-6);
    assert.equal(s.argmax().item(), 10);
    // varying only along the first spatial axis: smoothing along the second changes nothing
    const ramp = arange(0, 4, 1, 'float32').reshape([1, 1, 4, 1]).expand([1, 1, 4, 5]).contiguous();
    assertClose(F.gaussianSmooth(ramp, [0, 1]), ramp, { atol: 1e-6 });
    const x = rand([1, 1, 4, 5], new Generator(3));
    const none = F.gaussianSmooth(x, [0, 0]);
    assertClose(none, x, { atol: 0 });
    assert.notEqual(none, x, 'returns a new tensor');
    assert.equal(F.gaussianKernel1d(1).size(0), 9, 'radius round(4σ)');
  });
});

interface InterpCase {
  name: string;
  input: 'x1' | 'x2' | 'x3';
  mode: InterpolationMode;
  size?: number[];
  scale?: number[];
  align?: boolean;
}
const INTERP_CASES: InterpCase[] = [
  { name: 'nearest_1d', input: 'x1', mode: 'nearest', size: [13] },
  { name: 'nearest_2d_down', input: 'x2', mode: 'nearest', size: [4, 5] },
  { name: 'nearest_3d_scale', input: 'x3', mode: 'nearest', scale: [1.7, 0.6, 2] },
  { name: 'nearest_exact_2d', input: 'x2', mode: 'nearest-exact', size: [11, 7] },
  { name: 'nearest_exact_3d', input: 'x3', mode: 'nearest-exact', size: [3, 8, 9] },
  { name: 'linear', input: 'x1', mode: 'linear', size: [17], align: false },
  { name: 'linear_ac', input: 'x1', mode: 'linear', size: [4], align: true },
  { name: 'bilinear', input: 'x2', mode: 'bilinear', size: [9, 13], align: false },
  { name: 'bilinear_ac', input: 'x2', mode: 'bilinear', size: [3, 4], align: true },
  { name: 'bilinear_scale', input: 'x2', mode: 'bilinear', scale: [1.5, 0.75], align: false },
  { name: 'trilinear', input: 'x3', mode: 'trilinear', size: [7, 3, 6], align: false },
  { name: 'trilinear_ac', input: 'x3', mode: 'trilinear', size: [8, 9, 10], align: true },
  { name: 'bicubic', input: 'x2', mode: 'bicubic', size: [12, 5], align: false },
  { name: 'bicubic_ac', input: 'x2', mode: 'bicubic', size: [9, 9], align: true },
];

const GRID_MODES = ['bilinear', 'nearest', 'bicubic'] as const;
const GRID_PADDINGS = ['zeros', 'border', 'reflection'] as const;

const skip = referenceUnavailable();
describe('against PyTorch', { skip: skip ?? false }, () => {
  const g = new Generator(9);
  const inputs: Record<'x1' | 'x2' | 'x3', Tensor> = { x1: randn([2, 3, 7], g), x2: randn([2, 2, 6, 8], g), x3: randn([1, 2, 4, 5, 6], g) };
  // affine maps with rotation, anisotropic scale and translation that reach outside the image (to exercise padding)
  const theta2 = tensor([0.9, -0.5, 0.2, 0.4, 1.3, -0.1, 1.1, 0.3, -0.4, -0.2, 0.8, 0.3], [2, 2, 3]);
  const theta3 = tensor([1.1, 0.2, -0.1, 0.1, -0.3, 0.9, 0.2, -0.2, 0.1, 0.1, 1.2, 0.3], [1, 3, 4]);
  const img2 = randn([2, 3, 6, 7], g);
  const img3 = randn([1, 2, 5, 6, 7], g);
  let ref: Record<string, Exchange>;
  before(() => {
    ref = runTorch(
      `
import torch.nn.functional as F
for c in inp['interp']:
    kw = {'size': c['size']} if 'size' in c else {'scale_factor': c['scale']}
    if 'align' in c: kw['align_corners'] = c['align']
    out['interp_' + c['name']] = F.interpolate(inp[c['input']], mode=c['mode'], **kw)
for ac in (True, False):
    g2 = F.affine_grid(inp['theta2'], [2, 3, 5, 8], align_corners=ac)
    g3 = F.affine_grid(inp['theta3'], [1, 2, 4, 6, 5], align_corners=ac)
    out[f'grid2_{ac}'] = g2
    out[f'grid3_{ac}'] = g3
    for mode in ${JSON.stringify(GRID_MODES)}:
        for pad in ${JSON.stringify(GRID_PADDINGS)}:
            out[f'gs2_{mode}_{pad}_{ac}'] = F.grid_sample(inp['img2'], g2, mode=mode, padding_mode=pad, align_corners=ac)
            if mode != 'bicubic':
                out[f'gs3_{mode}_{pad}_{ac}'] = F.grid_sample(inp['img3'], g3, mode=mode, padding_mode=pad, align_corners=ac)
`,
      {
        ...inputs,
        theta2,
        theta3,
        img2,
        img3,
        interp: INTERP_CASES.map((c) => ({ ...c }) as unknown as Exchange),
      },
    );
  });

  for (const c of INTERP_CASES) {
    test(`interpolate ${c.name}`, () => {
      const out = F.interpolate(inputs[c.input], { size: c.size, scaleFactor: c.scale, mode: c.mode, alignCorners: c.align });
      assertClose(out, refTensor(ref, `interp_${c.name}`), { atol: 1e-6, what: c.name });
    });
  }

  for (const alignCorners of [true, false]) {
    test(`affineGrid 2D and 3D (alignCorners ${alignCorners})`, () => {
      assertClose(F.affineGrid(theta2, [2, 3, 5, 8], alignCorners), refTensor(ref, `grid2_${alignCorners ? 'True' : 'False'}`), { atol: 1e-6 });
      assertClose(F.affineGrid(theta3, [1, 2, 4, 6, 5], alignCorners), refTensor(ref, `grid3_${alignCorners ? 'True' : 'False'}`), { atol: 1e-6 });
    });
    test(`gridSample 2D and 3D, every mode and padding (alignCorners ${alignCorners})`, () => {
      const key = alignCorners ? 'True' : 'False';
      const grid2 = F.affineGrid(theta2, [2, 3, 5, 8], alignCorners);
      const grid3 = F.affineGrid(theta3, [1, 2, 4, 6, 5], alignCorners);
      for (const mode of GRID_MODES) {
        for (const paddingMode of GRID_PADDINGS) {
          const what = `${mode}/${paddingMode}`;
          assertClose(F.gridSample(img2, grid2, { mode, paddingMode, alignCorners }), refTensor(ref, `gs2_${mode}_${paddingMode}_${key}`), { atol: 1e-5, what: `2D ${what}` });
          if (mode !== 'bicubic') {
            assertClose(F.gridSample(img3, grid3, { mode, paddingMode, alignCorners }), refTensor(ref, `gs3_${mode}_${paddingMode}_${key}`), { atol: 1e-5, what: `3D ${what}` });
          }
        }
      }
    });
  }
});

const skipScipy = referenceUnavailable(['scipy.ndimage', 'numpy']);
describe('gaussianSmooth against scipy.ndimage.gaussian_filter', { skip: skipScipy ?? false }, () => {
  const g = new Generator(21);
  const vol = rand([1, 1, 9, 10, 11], g, 'float64');
  const img = rand([2, 3, 12, 5], g, 'float64');
  const vol32 = rand([1, 2, 6, 7, 8], g);
  const cases: { name: string; x: Tensor; sigmas: number[] }[] = [
    { name: 'vol', x: vol, sigmas: [1, 0.7, 2] },
    { name: 'vol_skip_axis', x: vol, sigmas: [0, 1.3, 0.5] },
    { name: 'img_wide', x: img, sigmas: [2.5, 3] }, // radius 10–12 exceeds the axis length
    { name: 'vol32', x: vol32, sigmas: [0.8, 0.8, 1.6] },
  ];
  let ref: Record<string, Exchange>;
  before(() => {
    ref = runTorch(
      `
import numpy as np
from scipy.ndimage import gaussian_filter
for c in inp['cases']:
    a = c['x'].numpy()
    res = np.empty_like(a)
    for n in range(a.shape[0]):
        for ch in range(a.shape[1]):
            res[n, ch] = gaussian_filter(a[n, ch], sigma=c['sigmas'], mode='nearest', truncate=4.0)
    out[c['name']] = torch.from_numpy(res)
`,
      { cases: cases.map((c) => ({ name: c.name, x: c.x, sigmas: c.sigmas })) },
    );
  });

  for (const c of cases) {
    test(`${c.name} σ=[${c.sigmas}] (${c.x.dtype})`, () => {
      assertClose(F.gaussianSmooth(c.x, c.sigmas), refTensor(ref, c.name), { atol: 1e-6, rtol: 1e-6, what: c.name });
    });
  }

  test('float64 input is smoothed at float64 precision', () => {
    for (const c of cases.filter((k) => k.x.dtype === 'float64')) {
      assertClose(F.gaussianSmooth(c.x, c.sigmas), refTensor(ref, c.name), { atol: 1e-12, rtol: 1e-12, what: c.name });
    }
  });
});

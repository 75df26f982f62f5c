// Reductions over all elements and over dims: sum, mean, max/min, argmax, var/std, norm, any/all, cumsum, sort, unique.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { Generator, arange, randint, randn, tensor } from '../../src/torch/index.js';
import { type Exchange, assertClose, assertSameTensor, refTensor, referenceUnavailable, runTorch } from './torch-reference.js';

describe('known values', () => {
  const x = arange(0, 6, 1, 'float32').reshape([2, 3]); // [[0,1,2],[3,4,5]]

  test('sum and mean', () => {
    assert.equal(x.sum().item(), 15);
    assert.deepEqual(x.sum(0).toArray(), [3, 5, 7]);
    assert.deepEqual(x.sum(1, true).shape, [2, 1]);
    assert.deepEqual(x.sum([0, 1]).shape, []);
    assert.deepEqual(x.mean(-1).toArray(), [1, 4]);
    assert.equal(x.sum(0, false, 'float64').dtype, 'float64');
    const ints = tensor(new Int32Array([1, 2, 3]));
    assert.equal(ints.sum().dtype, 'int64', 'integer sums accumulate in int64, as torch');
    assert.equal(tensor(new Uint8Array([1, 0, 1]), [3], 'bool').sum().item(), 2);
  });

  test('max, min, argmax', () => {
    assert.equal(x.max().item(), 5);
    assert.equal(x.min().item(), 0);
    const { values, indices } = x.max(1);
    assert.deepEqual(values.toArray(), [2, 5]);
    assert.deepEqual(indices.toArray(), [2, 2]);
    assert.equal(indices.dtype, 'int64');
    assert.deepEqual(x.min(0, true).values.shape, [1, 3]);
    assert.deepEqual(x.amax(0).toArray(), [3, 4, 5]);
    assert.deepEqual(x.amin([0, 1]).toArray(), [0]);
    assert.equal(x.argmax().item(), 5, 'flat index');
    assert.deepEqual(x.argmax(0).toArray(), [1, 1, 1]);
    assert.deepEqual(tensor([1, 3, 3, 0]).argmax().toArray(), [1], 'first of equal maxima');
  });

  test('var, std, norm', () => {
    assert.equal(tensor([1, 2, 3, 4], [4], 'float64').var().item(), 5 / 3, 'unbiased by default');
    assert.equal(tensor([1, 2, 3, 4]).var(undefined, false).item(), 1.25);
    assert.deepEqual(x.var(1).toArray(), [1, 1]);
    assert.deepEqual(x.var(1, false, true).shape, [2, 1]);
    assert.equal(tensor([3, 4]).norm().item(), 5);
    assert.equal(tensor([3, -4]).norm(1).item(), 7);
    assert.deepEqual(tensor([3, 4, 0, 5], [2, 2]).norm(2, 1).toArray(), [5, 5]);
    assert.ok(Math.abs(tensor([1, 2, 3, 4]).std().item() - Math.sqrt(5 / 3)) < 1e-6);
  });

  test('any, all, cumsum, nonzero, sort, unique', () => {
    const b = tensor([0, 2, 0]);
    assert.equal(b.any().item(), 1);
    assert.equal(b.all().item(), 0);
    assert.deepEqual(x.cumsum(1).toArray(), [0, 1, 3, 3, 7, 12]);
    assert.deepEqual(x.gt(3).nonzero().toArray(), [1, 1, 1, 2]);
    assert.deepEqual(x.gt(3).nonzero().shape, [2, 2]);
    const s = tensor([3, 1, 2]).sort();
    assert.deepEqual(s.values.toArray(), [1, 2, 3]);
    assert.deepEqual(s.indices.toArray(), [1, 2, 0]);
    assert.deepEqual(tensor([3, 1, 2]).sort(0, true).values.toArray(), [3, 2, 1]);
    const u = tensor(new Int32Array([5, 1, 5, 5, 2])).unique();
    assert.deepEqual(u.values.toArray(), [1, 2, 5]);
    assert.deepEqual(u.counts.toArray(), [1, 1, 3]);
  });
});

const skip = referenceUnavailable();
describe('against PyTorch', { skip: skip ?? false }, () => {
  const g = new Generator(11);
  const x = randn([3, 4, 5, 6], g);
  const xd = randn([7, 9], g, 'float64');
  const labels = randint(0, 4, [50], g, 'int64');
  let ref: Record<string, Exchange>;
  before(() => {
    ref = runTorch(
      `
x, xd = inp['x'], inp['xd']
out['sum'] = x.sum(); out['sum_0'] = x.sum(0); out['sum_13k'] = x.sum((1, 3), keepdim=True)
out['sum_f64'] = x.sum((2,), dtype=torch.float64)
out['mean'] = x.mean(); out['mean_23'] = x.mean((2, 3)); out['mean_m1k'] = x.mean(-1, keepdim=True)
out['amax_12'] = x.amax((1, 2)); out['amin_0'] = x.amin(0)
v, i = x.max(2); out['max_v'] = v; out['max_i'] = i
v, i = x.min(-1, keepdim=True); out['min_v'] = v; out['min_i'] = i
out['argmax'] = x.argmax(); out['argmax_1'] = x.argmax(1); out['argmax_1k'] = x.argmax(1, keepdim=True)
out['var'] = x.var(); out['var_23'] = x.var((2, 3)); out['var_0b'] = x.var(0, unbiased=False, keepdim=True)
out['std_1'] = x.std(1)
out['var_d'] = xd.var(1); out['norm'] = x.norm(); out['norm_1_3'] = x.norm(1, dim=3)
out['cumsum'] = x.cumsum(2)
v, i = xd.sort(1, descending=True); out['sort_v'] = v; out['sort_i'] = i
v, c = torch.unique(inp['labels'], sorted=True, return_counts=True); out['uniq_v'] = v; out['uniq_c'] = c
`,
      { x, xd, labels },
    );
  });

  test('sum and mean over all elements and over dims', () => {
    assertClose(x.sum(), refTensor(ref, 'sum'), { what: 'sum' });
    assertClose(x.sum(0), refTensor(ref, 'sum_0'), { what: 'sum(0)' });
    assertClose(x.sum([1, 3], true), refTensor(ref, 'sum_13k'), { what: 'sum([1,3], keepdim)' });
    assertClose(x.sum(2, false, 'float64'), refTensor(ref, 'sum_f64'), { what: 'sum(2, float64)', atol: 1e-12, rtol: 1e-12 });
    assert.equal(x.sum(2, false, 'float64').dtype, 'float64');
    assertClose(x.mean(), refTensor(ref, 'mean'), { what: 'mean' });
    assertClose(x.mean([2, 3]), refTensor(ref, 'mean_23'), { what: 'mean([2,3])' });
    assertClose(x.mean(-1, true), refTensor(ref, 'mean_m1k'), { what: 'mean(-1, keepdim)' });
  });

  test('max, min, amax, amin and argmax are exact', () => {
    assertSameTensor(x.amax([1, 2]), refTensor(ref, 'amax_12'), 'amax');
    assertSameTensor(x.amin(0), refTensor(ref, 'amin_0'), 'amin');
    const mx = x.max(2);
    assertSameTensor(mx.values, refTensor(ref, 'max_v'), 'max values');
    assertSameTensor(mx.indices, refTensor(ref, 'max_i'), 'max indices');
    const mn = x.min(-1, true);
    assertSameTensor(mn.values, refTensor(ref, 'min_v'), 'min values');
    assertSameTensor(mn.indices, refTensor(ref, 'min_i'), 'min indices');
    assertSameTensor(x.argmax(), refTensor(ref, 'argmax'), 'argmax');
    assertSameTensor(x.argmax(1), refTensor(ref, 'argmax_1'), 'argmax(1)');
    assertSameTensor(x.argmax(1, true), refTensor(ref, 'argmax_1k'), 'argmax(1, keepdim)');
  });

  test('var, std and norm', () => {
    assertClose(x.var(), refTensor(ref, 'var'), { what: 'var' });
    assertClose(x.var([2, 3]), refTensor(ref, 'var_23'), { what: 'var([2,3])' });
    assertClose(x.var(0, false, true), refTensor(ref, 'var_0b'), { what: 'var(0, biased, keepdim)' });
    assertClose(x.std(1), refTensor(ref, 'std_1'), { what: 'std(1)' });
    assertClose(xd.var(1), refTensor(ref, 'var_d'), { what: 'var float64', atol: 1e-14, rtol: 1e-13 });
    assertClose(x.norm(), refTensor(ref, 'norm'), { what: 'norm' });
    assertClose(x.norm(1, 3), refTensor(ref, 'norm_1_3'), { what: 'norm(1, dim 3)' });
  });

  test('cumsum, sort and unique', () => {
    assertClose(x.cumsum(2), refTensor(ref, 'cumsum'), { what: 'cumsum' });
    const s = xd.sort(1, true);
    assertSameTensor(s.values, refTensor(ref, 'sort_v'), 'sort values');
    assertSameTensor(s.indices, refTensor(ref, 'sort_i'), 'sort indices');
    const u = labels.unique();
    assertSameTensor(u.values, refTensor(ref, 'uniq_v'), 'unique values');
    assertSameTensor(u.counts, refTensor(ref, 'uniq_c'), 'unique counts');
  });
});

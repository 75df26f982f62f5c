// Shape and indexing ops: reshape/permute/transpose/squeeze/expand/repeat/flip, slicing and selection, advanced
// indexing, cat/stack/chunk, constant padding and one-hot.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { Generator, arange, cat, randint, randn, stack, tensor } from '../../src/torch/index.js';
import { type Exchange, assertSameTensor, refTensor, referenceUnavailable, runTorch } from './torch-reference.js';

const idx = (...v: number[]) => tensor(new BigInt64Array(v.map(BigInt)));

describe('known values', () => {
  const x = arange(0, 6).reshape([2, 3]); // [[0,1,2],[3,4,5]]

  test('reshape, flatten, permute, transpose, movedim', () => {
    assert.deepEqual(x.reshape([3, -1]).shape, [3, 2]);
    assert.deepEqual(x.flatten().toArray(), [0, 1, 2, 3, 4, 5]);
    assert.deepEqual(x.permute([1, 0]).toArray(), [0, 3, 1, 4, 2, 5]);
    assert.deepEqual(x.transpose(0, 1).contiguous().toArray(), [0, 3, 1, 4, 2, 5]);
    assert.deepEqual(arange(0, 24).reshape([2, 3, 4]).movedim(2, 0).shape, [4, 2, 3]);
  });

  test('squeeze, unsqueeze, expand, repeat, flip', () => {
    assert.deepEqual(x.unsqueeze(0).shape, [1, 2, 3]);
    assert.deepEqual(x.unsqueeze(-1).shape, [2, 3, 1]);
    assert.deepEqual(x.unsqueeze(0).squeeze().shape, [2, 3]);
    assert.deepEqual(x.reshape([1, 2, 1, 3]).squeeze(2).shape, [1, 2, 3]);
    assert.deepEqual(tensor([1, 2]).reshape([2, 1]).expand([2, 3]).toArray(), [1, 1, 1, 2, 2, 2]);
    assert.deepEqual(tensor([1, 2]).repeat([2]).toArray(), [1, 2, 1, 2]);
    assert.deepEqual(x.flip([1]).toArray(), [2, 1, 0, 5, 4, 3]);
    assert.deepEqual(x.flip([0, 1]).toArray(), [5, 4, 3, 2, 1, 0]);
  });

  test('slice, select, indexSelect, gather, maskedSelect, maskedFill', () => {
    const r = arange(0, 10);
    assert.deepEqual(r.slice(0, 2, 8, 3).toArray(), [2, 5]);
    assert.deepEqual(r.slice(0, -3).toArray(), [7, 8, 9], 'negative start counts from the end');
    assert.deepEqual(r.slice(0, 8, 100).toArray(), [8, 9], 'end is clipped');
    assert.deepEqual(x.slice(1, 1).toArray(), [1, 2, 4, 5]);
    assert.deepEqual(x.select(1, -1).toArray(), [2, 5]);
    assert.deepEqual(x.indexSelect(1, idx(2, 0)).toArray(), [2, 0, 5, 3]);
    assert.deepEqual(x.gather(1, idx(1, 0, 2, 2).reshape([2, 2])).toArray(), [1, 0, 5, 5]);
    assert.deepEqual(x.maskedSelect(x.remainder(2).eq(0)).toArray(), [0, 2, 4]);
    assert.deepEqual(x.maskedFill(x.gt(3), -1).toArray(), [0, 1, 2, 3, -1, -1]);
  });

  test('a slice is a view: writes through it reach the base', () => {
    const base = arange(0, 6, 1, 'float32');
    base.slice(0, 1, 3).fill_(-1);
    assert.deepEqual(base.toArray(), [0, -1, -1, 3, 4, 5]);
    assert.equal(base.slice(0, 2).storageOffset, 2);
  });

  test('advanced indexing', () => {
    assert.deepEqual(x.index([idx(1, 0), idx(2, 1)]).toArray(), [5, 1]);
    assert.deepEqual(x.index([null, idx(0, 0)]).toArray(), [0, 0, 3, 3]);
    assert.deepEqual(x.index([x.gt(2)]).toArray(), [3, 4, 5], 'boolean mask');
  });

  test('cat, stack, chunk', () => {
    const a = tensor([1, 2]);
    const b = tensor([3, 4]);
    assert.deepEqual(cat([a, b]).toArray(), [1, 2, 3, 4]);
    assert.deepEqual(stack([a, b]).shape, [2, 2]);
    assert.deepEqual(stack([a, b], 1).toArray(), [1, 3, 2, 4]);
    assert.deepEqual(cat([x, x], 1).shape, [2, 6]);
    const parts = arange(0, 5).chunk(2);
    assert.deepEqual(parts.map((p) => p.toArray()), [[0, 1, 2], [3, 4]]);
  });

  test('pad uses torch.nn.functional.pad order (last dim first)', () => {
    const p = tensor([1, 2, 3, 4], [2, 2]).pad([1, 0, 0, 1], 9);
    assert.deepEqual(p.shape, [3, 3]);
    assert.deepEqual(p.toArray(), [9, 1, 2, 9, 3, 4, 9, 9, 9]);
    assert.deepEqual(arange(0, 5).pad([-1, -2]).toArray(), [1, 2], 'negative padding crops');
  });

  test('oneHot', () => {
    const oh = idx(0, 2, 1).oneHot(3);
    assert.equal(oh.dtype, 'int64');
    assert.deepEqual(oh.shape, [3, 3]);
    assert.deepEqual(oh.toArray(), [1, 0, 0, 0, 0, 1, 0, 1, 0]);
    assert.throws(() => idx(0, 3).oneHot(3), /less than number of classes|Class values must be smaller/);
  });
});

const skip = referenceUnavailable();
describe('against PyTorch', { skip: skip ?? false }, () => {
  const g = new Generator(3);
  const x = randn([2, 3, 4, 5], g);
  const y = randn([2, 1, 4, 5], g);
  const seg = randint(0, 4, [2, 3, 3], g);
  const rows = randint(0, 3, [6], g);
  const cols = randint(0, 4, [6], g);
  const gidx = randint(0, 5, [2, 3, 4, 2], g);
  let ref: Record<string, Exchange>;
  before(() => {
    ref = runTorch(
      `
import torch.nn.functional as F
x, y, seg = inp['x'], inp['y'], inp['seg']
out['permute'] = x.permute(3, 1, 0, 2).contiguous()
out['reshape'] = x.permute(0, 2, 1, 3).reshape(8, -1)
out['flip'] = x.flip((1, 3))
out['slice'] = x[:, 1:3, ::2, -3:]
out['select'] = x[1, :, 2]
out['index'] = x[:, inp['rows'], inp['cols']]
out['mask'] = x[x > 0.5]
out['gather'] = x.gather(3, inp['gidx'])
out['cat'] = torch.cat([x, y], 1)
out['stack'] = torch.stack([y, y * 2], 2)
out['pad'] = F.pad(x, (1, 2, 0, 3, 2, 0), value=-1.5)
out['pad_crop'] = F.pad(x, (-1, 1, 2, -2))
out['one_hot'] = F.one_hot(seg, 5)
out['one_hot_moved'] = F.one_hot(seg, 4).movedim(-1, 1).float()
out['expand_repeat'] = y.expand(2, 3, 4, 5) + y.repeat(1, 3, 1, 1)
`,
      { x, y, seg, rows, cols, gidx },
    );
  });

  test('permute, reshape, flip', () => {
    assertSameTensor(x.permute([3, 1, 0, 2]).contiguous(), refTensor(ref, 'permute'), 'permute');
    assertSameTensor(x.permute([0, 2, 1, 3]).reshape([8, -1]), refTensor(ref, 'reshape'), 'reshape of a permuted tensor');
    assertSameTensor(x.flip([1, 3]), refTensor(ref, 'flip'), 'flip');
  });

  test('slice, select, index, mask, gather', () => {
    assertSameTensor(x.slice(1, 1, 3).slice(2, 0, 4, 2).slice(3, -3), refTensor(ref, 'slice'), 'slice');
    assertSameTensor(x.select(0, 1).select(1, 2), refTensor(ref, 'select'), 'select');
    assertSameTensor(x.index([null, rows, cols]), refTensor(ref, 'index'), 'advanced index');
    assertSameTensor(x.index([x.gt(0.5)]), refTensor(ref, 'mask'), 'mask index');
    assertSameTensor(x.maskedSelect(x.gt(0.5)), refTensor(ref, 'mask'), 'maskedSelect');
    assertSameTensor(x.gather(3, gidx), refTensor(ref, 'gather'), 'gather');
  });

  test('cat, stack, expand, repeat', () => {
    assertSameTensor(cat([x, y], 1), refTensor(ref, 'cat'), 'cat');
    assertSameTensor(stack([y, y.mul(2)], 2), refTensor(ref, 'stack'), 'stack');
    assertSameTensor(y.expand([2, 3, 4, 5]).add(y.repeat([1, 3, 1, 1])), refTensor(ref, 'expand_repeat'), 'expand + repeat');
  });

  test('pad and one-hot', () => {
    assertSameTensor(x.pad([1, 2, 0, 3, 2, 0], -1.5), refTensor(ref, 'pad'), 'pad');
    assertSameTensor(x.pad([-1, 1, 2, -2]), refTensor(ref, 'pad_crop'), 'pad with cropping');
    assertSameTensor(seg.oneHot(5), refTensor(ref, 'one_hot'), 'one_hot');
    assertSameTensor(seg.oneHot(4).movedim(-1, 1).float(), refTensor(ref, 'one_hot_moved'), 'one_hot channels first');
  });
});

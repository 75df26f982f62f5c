// Elementwise arithmetic, comparisons, type promotion (int stays int with integral scalars) and matmul.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { type DType, Generator, type Tensor, randint, randn, tensor, where } from '../../src/torch/index.js';
import { type Exchange, assertClose, assertSameTensor, refTensor, referenceUnavailable, runTorch } from './torch-reference.js';

describe('known values', () => {
  test('integral JS numbers act as Python ints: int tensors stay int', () => {
    const i = tensor(new Int32Array([1, 2, 3]));
    assert.equal(i.add(2).dtype, 'int32');
    assert.deepEqual(i.add(2).toArray(), [3, 4, 5]);
    assert.equal(i.mul(-3).dtype, 'int32');
    assert.equal(i.sub(1).dtype, 'int32');
    assert.equal(i.floorDivide(2).dtype, 'int32');
    assert.deepEqual(i.floorDivide(2).toArray(), [0, 1, 1]);
    assert.deepEqual(tensor(new Int32Array([-3])).floorDivide(2).toArray(), [-2], 'floor, not truncation');
    assert.deepEqual(tensor(new Int32Array([-3])).remainder(2).toArray(), [1], 'Python-style remainder');
    const u = tensor(new Uint8Array([250, 3]));
    assert.equal(u.add(10).dtype, 'uint8');
    assert.deepEqual(u.add(10).toArray(), [4, 13], 'uint8 wraps');
    assert.equal(tensor(new BigInt64Array([5n])).pow(2).dtype, 'int64');
  });

  test('fractional scalars and true division promote ints to the default float', () => {
    const i = tensor(new Int32Array([1, 2, 3]));
    assert.equal(i.mul(2.5).dtype, 'float32');
    assert.deepEqual(i.mul(2.5).toArray(), [2.5, 5, 7.5]);
    assert.equal(i.div(2).dtype, 'float32');
    assert.deepEqual(i.div(2).toArray(), [0.5, 1, 1.5]);
    assert.equal(tensor([1], [1], 'float16').mul(2.5).dtype, 'float16', 'a scalar never widens a float tensor');
    assert.equal(tensor(new Float64Array([1])).add(1).dtype, 'float64');
  });

  test('tensor–tensor promotion', () => {
    const f32 = tensor([1, 2]);
    const f64 = tensor(new Float64Array([1, 2]));
    const i64 = tensor(new BigInt64Array([1n, 2n]));
    const b = tensor(new Uint8Array([1, 0]), [2], 'bool');
    assert.equal(f32.add(f64).dtype, 'float64');
    assert.equal(i64.add(f32).dtype, 'float32');
    assert.equal(b.add(b).dtype, 'bool');
    assert.equal(b.add(1).dtype, 'int64');
    assert.equal(f32.add(tensor(new Float64Array([1]), [])).dtype, 'float32', 'a 0-dim tensor does not widen within its category');
  });

  test('arithmetic and math values', () => {
    const x = tensor([-2, -0.5, 0, 0.5, 2]);
    assert.deepEqual(x.abs().toArray(), [2, 0.5, 0, 0.5, 2]);
    assert.deepEqual(x.relu().toArray(), [0, 0, 0, 0.5, 2]);
    assert.deepEqual(x.sign().toArray(), [-1, -1, 0, 1, 1]);
    assert.deepEqual(x.square().toArray(), [4, 0.25, 0, 0.25, 4]);
    assert.deepEqual(x.clamp(-1, 1).toArray(), [-1, -0.5, 0, 0.5, 1]);
    assert.deepEqual(x.clamp(0).toArray(), [0, 0, 0, 0.5, 2]);
    assert.deepEqual(x.clamp(null, 0).toArray(), [-2, -0.5, 0, 0, 0]);
    assert.deepEqual(x.round().toArray(), [-2, -0, 0, 0, 2], 'round half to even');
    assert.deepEqual(x.add(x, 2).toArray(), [-6, -1.5, 0, 1.5, 6], 'add with alpha');
    assert.ok(x.exp().log().sub(x).abs().amax().item() < 1e-6);
    assert.deepEqual(tensor([1, 4, 9]).sqrt().toArray(), [1, 2, 3]);
    assert.deepEqual(tensor([1, 0]).reciprocal().toArray(), [1, Infinity]);
    assert.deepEqual(tensor([0]).sigmoid().toArray(), [0.5]);
    assert.deepEqual(tensor([1, 2, 3]).lerp(tensor([3, 2, 1]), 0.5).toArray(), [2, 2, 2]);
    assert.deepEqual(tensor([NaN, 1, Infinity]).isnan().toArray(), [1, 0, 0]);
    assert.deepEqual(tensor([NaN, 1, Infinity]).isfinite().toArray(), [0, 1, 0]);
  });

  test('in-place ops change the tensor and return it', () => {
    const x = tensor([1, 2, 3]);
    assert.equal(x.add_(1), x);
    assert.deepEqual(x.toArray(), [2, 3, 4]);
    x.mul_(2).sub_(1).div_(2);
    assert.deepEqual(x.toArray(), [1.5, 2.5, 3.5]);
    x.addcmul_(tensor([1, 1, 1]), tensor([2, 2, 2]), 0.5).clamp_(2, 3);
    assert.deepEqual(x.toArray(), [2.5, 3, 3]);
    x.fill_(7);
    assert.deepEqual(x.toArray(), [7, 7, 7]);
    x.zero_();
    assert.deepEqual(x.toArray(), [0, 0, 0]);
    x.copy_(tensor(new Int32Array([4, 5, 6])));
    assert.deepEqual(x.toArray(), [4, 5, 6]);
    assert.equal(x.dtype, 'float32', 'copy_ keeps the destination dtype');
    x.indexPut_([tensor(new BigInt64Array([1n, 1n]))], tensor([10, 20]), true);
    assert.deepEqual(x.toArray(), [4, 35, 6], 'accumulate sums repeated indices');
  });

  test('indexPut_ with a number value (x[idx] = -1)', () => {
    const x = tensor([4, 5, 6]);
    x.indexPut_([tensor(new BigInt64Array([0n, 2n]))], -1);
    assert.deepEqual(x.toArray(), [-1, 5, -1]);
  });

  test('comparisons give bool tensors', () => {
    const a = tensor([1, 2, 3]);
    assert.equal(a.gt(2).dtype, 'bool');
    assert.deepEqual(a.gt(2).toArray(), [0, 0, 1]);
    assert.deepEqual(a.ge(2).toArray(), [0, 1, 1]);
    assert.deepEqual(a.lt(tensor([3, 2, 1])).toArray(), [1, 0, 0]);
    assert.deepEqual(a.le(2).toArray(), [1, 1, 0]);
    assert.deepEqual(a.eq(tensor(new Int32Array([1, 0, 3]))).toArray(), [1, 0, 1], 'mixed dtypes compare by value');
    assert.deepEqual(a.ne(2).toArray(), [1, 0, 1]);
    assert.deepEqual(a.gt(1).logicalAnd(a.lt(3)).toArray(), [0, 1, 0]);
    assert.deepEqual(a.gt(2).logicalOr(a.lt(2)).logicalNot().toArray(), [0, 1, 0]);
    assert.deepEqual(where(a.gt(1), a, 0).toArray(), [0, 2, 3]);
  });

  test('matmul', () => {
    const a = tensor([1, 2, 3, 4], [2, 2]);
    const b = tensor([5, 6, 7, 8], [2, 2]);
    assert.deepEqual(a.matmul(b).toArray(), [19, 22, 43, 50]);
    assert.deepEqual(a.matmul(tensor([1, 1])).toArray(), [3, 7], 'matrix × vector');
    assert.deepEqual(a.reshape([1, 2, 2]).expand([3, 2, 2]).matmul(b).shape, [3, 2, 2], 'batched with broadcast');
    assert.deepEqual(tensor(new BigInt64Array([1n, 2n])).matmul(tensor(new BigInt64Array([3n, 4n]))).toArray(), [11]);
  });
});

const UNARY = ['neg', 'abs', 'exp', 'log', 'log1p', 'sqrt', 'rsqrt', 'sigmoid', 'tanh', 'relu', 'floor', 'ceil', 'round', 'sign', 'sin',
  'cos', 'erf', 'square', 'reciprocal'] as const;
const BINARY = ['add', 'sub', 'mul', 'div', 'pow', 'remainder', 'floorDivide', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const;
const PY_BINARY: Record<(typeof BINARY)[number], string> = {
  add: 'torch.add', sub: 'torch.sub', mul: 'torch.mul', div: 'torch.div', pow: 'torch.pow', remainder: 'torch.remainder',
  floorDivide: 'lambda a, b: torch.div(a, b, rounding_mode="floor")', maximum: 'torch.maximum', minimum: 'torch.minimum',
  eq: 'torch.eq', ne: 'torch.ne', lt: 'torch.lt', le: 'torch.le', gt: 'torch.gt', ge: 'torch.ge',
};
const PROMOTION_DTYPES: DType[] = ['float64', 'float32', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool'];
const SCALARS = [2, 2.5, -3, true];

const skip = referenceUnavailable();
describe('against PyTorch', { skip: skip ?? false }, () => {
  const g = new Generator(7);
  const a = randn([4, 5], g);
  const b = randn([4, 5], g).add(0.1);
  const pos = a.abs().add(0.05);
  const ia = randint(-9, 9, [4, 5], g, 'int32');
  const ib = randint(1, 9, [4, 5], g, 'int32');
  const m1 = randn([3, 6, 7], g);
  const m2 = randn([7, 5], g);
  let ref: Record<string, Exchange>;
  before(() => {
    ref = runTorch(
      `
a, b, pos, ia, ib = inp['a'], inp['b'], inp['pos'], inp['ia'], inp['ib']
for name in ${JSON.stringify(UNARY)}:
    out['u_' + name] = getattr(torch, name)(pos if name in ('log', 'sqrt', 'rsqrt') else a)
binary = {${BINARY.map((n) => `'${n}': ${PY_BINARY[n]}`).join(', ')}}
for name, fn in binary.items():
    out['b_' + name] = fn(pos, b) if name == 'pow' else fn(a, b)
    out['i_' + name] = fn(ia, ib)
    if name not in ('maximum', 'minimum'): out['s_' + name] = fn(ia, 3)
out['clamp'] = a.clamp(-0.5, 0.7)
out['lerp'] = torch.lerp(a, b, 0.3)
out['where'] = torch.where(a > 0, a, b)
out['addcdiv'] = a.clone().addcdiv_(b, pos, value=-0.01)
out['matmul'] = torch.matmul(inp['m1'], inp['m2'])
dts = ${JSON.stringify(PROMOTION_DTYPES)}
out['promote'] = [[str(torch.result_type(torch.zeros(1, dtype=_DT[x]), torch.zeros(1, dtype=_DT[y]))).split('.')[1] for y in dts] for x in dts]
out['promote_scalar'] = [[str(torch.result_type(torch.zeros(1, dtype=_DT[x]), s)).split('.')[1] for s in [2, 2.5, -3, True]] for x in dts]
`,
      { a, b, pos, ia, ib, m1, m2 },
    );
  });

  test('unary math is bitwise equal', () => {
    const fns: Record<(typeof UNARY)[number], (x: Tensor) => Tensor> = Object.fromEntries(
      UNARY.map((n) => [n, (x: Tensor) => (x[n] as () => Tensor).call(x)]),
    ) as never;
    for (const name of UNARY) {
      const x = name === 'log' || name === 'sqrt' || name === 'rsqrt' ? pos : a;
      assertSameTensor(fns[name](x), refTensor(ref, `u_${name}`), name);
    }
  });

  test('binary ops on floats, ints and int × integral scalar are bitwise equal', () => {
    for (const name of BINARY) {
      const fn = (x: Tensor, y: Tensor | number) => (x[name] as (o: Tensor | number) => Tensor).call(x, y);
      assertSameTensor(name === 'pow' ? fn(pos, b) : fn(a, b), refTensor(ref, `b_${name}`), `${name} float`);
      assertSameTensor(fn(ia, ib), refTensor(ref, `i_${name}`), `${name} int`);
      if (name !== 'maximum' && name !== 'minimum') assertSameTensor(fn(ia, 3), refTensor(ref, `s_${name}`), `${name} int × 3`);
    }
  });

  test('clamp, lerp, where, addcdiv_', () => {
    assertSameTensor(a.clamp(-0.5, 0.7), refTensor(ref, 'clamp'), 'clamp');
    assertSameTensor(a.lerp(b, 0.3), refTensor(ref, 'lerp'), 'lerp');
    assertSameTensor(where(a.gt(0), a, b), refTensor(ref, 'where'), 'where');
    assertSameTensor(a.clone().addcdiv_(b, pos, -0.01), refTensor(ref, 'addcdiv'), 'addcdiv_');
  });

  test('matmul (batched × matrix)', () => {
    assertClose(m1.matmul(m2), refTensor(ref, 'matmul'), { atol: 1e-5, rtol: 1e-5 });
  });

  test('result dtype of every tensor–tensor and tensor–scalar pair equals torch.result_type', () => {
    const table = ref.promote as string[][];
    const scalarTable = ref.promote_scalar as string[][];
    PROMOTION_DTYPES.forEach((x, i) => {
      const tx = tensor([1], [1], x);
      PROMOTION_DTYPES.forEach((y, j) => {
        assert.equal(tx.add(tensor([1], [1], y)).dtype, table[i][j], `${x} + ${y}`);
      });
      SCALARS.forEach((s, j) => {
        assert.equal(tx.mul(s).dtype, scalarTable[i][j], `${x} × ${s}`);
      });
    });
  });
});

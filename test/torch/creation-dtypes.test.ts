// Creation functions, the ten dtypes, TypedArray round trips and zero-copy views.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { type DType, Tensor, arange, empty, full, linspace, ones, tensor, zeros } from '../../src/torch/index.js';
import { DTYPES, isFloating } from '../../src/torch/dtype.js';
import { type Exchange, assertSameTensor, refTensor, referenceUnavailable, runTorch } from './torch-reference.js';

// One array per dtype, with values that exercise its range (float16/bfloat16 as raw bit patterns).
const SAMPLES: Record<DType, ArrayBufferView> = {
  float32: new Float32Array([0, -1.5, 3.4028234663852886e38, 1e-45, Infinity]),
  float64: new Float64Array([0, -1.5, Number.MAX_VALUE, 5e-324, -Infinity]),
  float16: new Uint16Array([0x0000, 0x3c00, 0xbe00, 0x7bff, 0x0001]), // 0, 1, -1.5, 65504, smallest subnormal
  bfloat16: new Uint16Array([0x0000, 0x3f80, 0xbfc0, 0x7f7f, 0x7f80]), // 0, 1, -1.5, max, +inf
  int64: new BigInt64Array([0n, -1n, 9007199254740993n, -(2n ** 63n), 2n ** 63n - 1n]),
  int32: new Int32Array([0, -1, 2147483647, -2147483648, 7]),
  int16: new Int16Array([0, -1, 32767, -32768, 7]),
  int8: new Int8Array([0, -1, 127, -128, 7]),
  uint8: new Uint8Array([0, 1, 255, 128, 7]),
  bool: new Uint8Array([0, 1, 1, 0, 1]),
};

describe('TypedArray round trips', () => {
  for (const dtype of DTYPES) {
    test(dtype, () => {
      const src = SAMPLES[dtype];
      const t = tensor(src as never, [5], dtype);
      assert.equal(t.dtype, dtype);
      assert.deepEqual(t.shape, [5]);
      const back = t.toTypedArray();
      assert.equal(back.constructor, src.constructor);
      assert.deepEqual(Array.from(back as ArrayLike<unknown>), Array.from(src as unknown as ArrayLike<unknown>));
      assert.deepEqual([...t.toBuffer()], [...new Uint8Array(src.buffer, src.byteOffset, src.byteLength)]);
      t.dispose();
    });
  }

  test('float16 and bfloat16 bit patterns decode to the numbers they encode', () => {
    assert.deepEqual(tensor(SAMPLES.float16 as Uint16Array, [5], 'float16').to('float64').toArray(), [0, 1, -1.5, 65504, 2 ** -24]);
    assert.deepEqual(tensor(SAMPLES.bfloat16 as Uint16Array, [5], 'bfloat16').to('float64').toArray().slice(0, 3), [0, 1, -1.5]);
    assert.deepEqual(tensor([1, -2, 0.5], [3], 'float16').toArray(), [0x3c00, 0xc000, 0x3800]);
    assert.deepEqual(tensor([1, -2, 0.5], [3], 'bfloat16').toArray(), [0x3f80, 0xc000, 0x3f00]);
  });

  test('a Uint16Array without a dtype is refused as ambiguous', () => {
    assert.throws(() => tensor(new Uint16Array([1])), /ambiguous/);
  });

  test('a TypedArray view with a byte offset copies only its own elements', () => {
    const whole = new Float32Array([9, 1, 2, 3, 9]);
    const t = tensor(whole.subarray(1, 4));
    assert.deepEqual(t.toArray(), [1, 2, 3]);
    whole[1] = 100;
    assert.deepEqual(t.toArray(), [1, 2, 3], 'fromBuffer copies');
  });

  test('fromBuffer refuses a buffer whose size does not fit shape and dtype', () => {
    assert.throws(() => Tensor.fromBuffer(new Float32Array(5), [2, 3], 'float32'), /buffer holds 20 bytes but shape and dtype need 24/);
  });

  test('shape, strides, numel and item', () => {
    const t = arange(0, 24).reshape([2, 3, 4]);
    assert.deepEqual(t.shape, [2, 3, 4]);
    assert.deepEqual(t.strides, [12, 4, 1]);
    assert.equal(t.numel, 24);
    assert.equal(t.ndim, 3);
    assert.equal(t.size(-1), 4);
    assert.deepEqual(t.transpose(0, 2).strides, [1, 4, 12]);
    assert.equal(tensor(new BigInt64Array([123456789n])).item(), 123456789);
    assert.equal(tensor(new Uint8Array([1]), [1], 'bool').item(), 1);
    assert.equal(zeros([], 'float64').item(), 0);
    assert.throws(() => zeros([2]).item(), /one element, got 2/);
  });
});

describe('sharedData', () => {
  test('is a zero-copy view of a contiguous CPU tensor', () => {
    const t = arange(0, 6, 1, 'float32');
    const view = t.sharedData() as Float32Array;
    view[2] = 42;
    assert.deepEqual(t.toArray(), [0, 1, 42, 3, 4, 5]);
    t.add_(1);
    assert.equal(view[0], 1, 'in-place ops show through the view');
  });

  test('stays valid after the tensor is disposed', () => {
    const t = full([1000], 7, 'int32');
    const view = t.sharedData() as Int32Array;
    t.dispose();
    assert.ok(t.isDisposed);
    const junk = ones([1000], 'int32'); // would reuse freed memory if the view did not hold it
    assert.equal(view.length, 1000);
    assert.ok(view.every((v) => v === 7));
    junk.dispose();
  });

  test('of a non-contiguous tensor is a copy in C order', () => {
    const t = arange(0, 6, 1, 'float32').reshape([2, 3]);
    const tt = t.transpose(0, 1);
    const view = tt.sharedData() as Float32Array;
    assert.deepEqual(Array.from(view), [0, 3, 1, 4, 2, 5]);
    view[0] = 99;
    assert.equal(t.toArray()[0], 0);
  });
});

describe('creation functions', () => {
  test('zeros, ones, full, empty, arange, linspace', () => {
    assert.deepEqual(zeros([2, 2], 'int16').toArray(), [0, 0, 0, 0]);
    assert.equal(zeros([2, 2], 'int16').dtype, 'int16');
    assert.deepEqual(ones([3], 'bool').toArray(), [1, 1, 1]);
    assert.deepEqual(full([2], -2.5, 'float64').toArray(), [-2.5, -2.5]);
    assert.deepEqual(empty([0, 3]).shape, [0, 3]);
    assert.deepEqual(arange(2, 11, 3).toArray(), [2, 5, 8]);
    assert.equal(arange(0, 3).dtype, 'int64');
    assert.deepEqual(arange(0, 1, 0.25, 'float32').toArray(), [0, 0.25, 0.5, 0.75]);
    assert.deepEqual(linspace(-1, 1, 5).toArray(), [-1, -0.5, 0, 0.5, 1]);
    assert.deepEqual(tensor([1, 2, 3, 4], [2, 2]).shape, [2, 2]);
    assert.equal(tensor([1, 2]).dtype, 'float32');
  });
});

const skip = referenceUnavailable();
describe('against PyTorch', { skip: skip ?? false }, () => {
  // Values including fractions, negatives and out-of-range magnitudes for the float types.
  const floats = [0, 1, -1.5, 2.7, 0.1, 1 / 3, 100.25, 65519, 70000, 1e-8, -3e38];
  // Integer targets get only values every integer type can hold (float → int is undefined out of range).
  const ints = [0, 1, 2.7, 0.1, 100.25, 127, 3.99, 1e-3];
  // Includes values just above a float16/bfloat16 rounding tie, where converting through float32 first matters.
  const numberList = [0.1, -7, 1 + 2 ** -11 + 2 ** -30, 1 + 2 ** -8 + 2 ** -30, 123456789, 2 ** 40];
  const intList = [-7, 0, 2 ** 53, -(2 ** 40)];
  let ref: Record<string, Exchange>;
  before(() => {
    ref = runTorch(
      `
for name, dt in _DT.items():
    src = inp['floats'] if dt.is_floating_point else inp['ints']
    out['cast_' + name] = src.to(dt)
    out['cast32_' + name] = src.float().to(dt)
out['linspace'] = torch.linspace(-3.3, 7.1, 17)
out['arange'] = torch.arange(0.1, 2.0, 0.3)
out['full'] = torch.full((3,), 0.1, dtype=torch.float16)
for name in ('float32', 'float64', 'float16', 'bfloat16'):
    out['list_' + name] = torch.tensor(inp['list'], dtype=_DT[name])
out['list_int64'] = torch.tensor(inp['intList'], dtype=torch.int64)
`,
      { list: numberList, intList, floats: tensor(floats, [floats.length], 'float64'), ints: tensor(ints, [ints.length], 'float64') },
    );
  });

  for (const dtype of DTYPES) {
    test(`float64 and float32 → ${dtype} conversions are bitwise equal`, () => {
      const src = tensor(isFloating(dtype) ? floats : ints, undefined, 'float64');
      assertSameTensor(src.to(dtype), refTensor(ref, `cast_${dtype}`), `float64 → ${dtype}`);
      assertSameTensor(src.float().to(dtype), refTensor(ref, `cast32_${dtype}`), `float32 → ${dtype}`);
    });
  }

  test('tensor(number[], shape, dtype) converts as torch.tensor(list, dtype=...)', () => {
    for (const dtype of ['float32', 'float64', 'float16', 'bfloat16'] as const) {
      assertSameTensor(tensor(numberList, undefined, dtype), refTensor(ref, `list_${dtype}`), dtype);
    }
    assertSameTensor(tensor(intList, undefined, 'int64'), refTensor(ref, 'list_int64'), 'int64');
  });

  test('linspace, arange and full are bitwise equal', () => {
    assertSameTensor(linspace(-3.3, 7.1, 17), refTensor(ref, 'linspace'), 'linspace');
    assertSameTensor(arange(0.1, 2.0, 0.3, 'float32'), refTensor(ref, 'arange'), 'arange');
    assertSameTensor(full([3], 0.1, 'float16'), refTensor(ref, 'full'), 'full');
  });
});


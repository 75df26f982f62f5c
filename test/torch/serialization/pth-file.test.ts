import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Tensor } from '../../../src/torch/tensor.js';
import { loadPth, savePth, type PthValue } from '../../../src/torch/serialization/pth-file.js';
import { isOrderedDict, pyOrderedDict, pyTuple } from '../../../src/torch/serialization/py-values.js';
import { describeWith, PY_DESCRIBE } from './describe-value.js';
import { PY_CHECKPOINT, pythonSkipReason, runPython } from './python-ref.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pth-file-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const isTensor = (x: unknown): x is Tensor => x instanceof Tensor;

/** Python's description without storage ids: an engine tensor does not expose its storage. */
const withoutStorageIds = (v: unknown): unknown =>
  Array.isArray(v) ? v.map(withoutStorageIds) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).filter(([k]) => k !== 'storage').map(([k, x]) => [k, withoutStorageIds(x)])) : v;

test('loadPth: a python torch.save checkpoint becomes engine tensors with the same values, strides and offsets', (t) => {
  const skip = pythonSkipReason();
  if (skip) return t.skip(skip);
  return (async () => {
    const file = path.join(dir, 'py.pth');
    const expected = JSON.parse(runPython(`${PY_DESCRIBE}\n${PY_CHECKPOINT}\ntorch.save(ckpt, sys.argv[1])\ndump(ckpt)`, file));
    const loaded = await loadPth(file);
    const got = describeWith(loaded, isTensor, (x) => ({
      tensor: x.dtype,
      shape: x.shape,
      stride: x.strides,
      offset: x.storageOffset,
      bytes: x.toBuffer().toString('hex'),
    }));
    assert.deepEqual(got, withoutStorageIds(expected));
    const ckpt = loaded as Record<string, PthValue>;
    assert.ok(isOrderedDict(ckpt.network_weights as object));
    assert.deepEqual((ckpt.view as Tensor).toArray(), [1, 13, 5, 17, 9, 21, 2, 14, 6, 18, 10, 22, 3, 15, 7, 19, 11, 23]);
  })();
});

test('savePth: engine tensors (incl. a non-contiguous view, a repeated tensor) load in python weights_only, and back here', (t) => {
  const skip = pythonSkipReason();
  if (skip) return t.skip(skip);
  return (async () => {
    const file = path.join(dir, 'js.pth');
    const weight = Tensor.fromBuffer(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3], 'float32');
    const value: PthValue = {
      network_weights: pyOrderedDict({
        'conv.weight': weight,
        'conv.bias': Tensor.fromBuffer(new Uint16Array([0x3c00, 0xc000]), [2], 'float16'), // float16 bits of 1, -2
        'bn.num_batches_tracked': Tensor.fromBuffer(new BigInt64Array([7n]), [], 'int64'),
      }),
      transposed: weight.asStrided([3, 2], [1, 3], 0),
      tied: weight,
      mask: Tensor.fromBuffer(new Uint8Array([1, 0, 1]), [3], 'bool'),
      current_epoch: 12,
      mirror_axes: pyTuple(0, 1),
    };
    await savePth(file, value);
    const facts = runPython(
      `import sys, torch
c = torch.load(sys.argv[1], weights_only=True)
w = c['network_weights']
print(type(w).__name__, w['conv.weight'].tolist(), w['conv.bias'].tolist(), w['bn.num_batches_tracked'].item(), c['transposed'].tolist(),
      c['tied'].data_ptr() == w['conv.weight'].data_ptr(), c['mask'].tolist(), c['current_epoch'], c['mirror_axes'])`,
      file,
    );
    assert.equal(
      facts.trim(),
      'OrderedDict [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]] [1.0, -2.0] 7 [[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]] True [True, False, True] 12 (0, 1)',
    );
    const back = (await loadPth(file)) as Record<string, PthValue>;
    assert.deepEqual((back.transposed as Tensor).toArray(), [1, 4, 2, 5, 3, 6]);
    assert.deepEqual(Array.from((back.mask as Tensor).toTypedArray() as Uint8Array), [1, 0, 1]);
    assert.equal((back.network_weights as Record<string, Tensor>)['bn.num_batches_tracked'].dtype, 'int64');
  })();
});

test('savePth/loadPth move a 120 MB state dict of engine tensors in about a second', async () => {
  const file = path.join(dir, 'big.pth');
  const sd: Record<string, Tensor> = {};
  for (let i = 0; i < 30; i++) sd[`w${i}`] = Tensor.fromBuffer(new Float32Array(1 << 20).fill(i + 0.5), [1024, 1024], 'float32');
  const t0 = performance.now();
  await savePth(file, { network_weights: pyOrderedDict(sd) });
  const t1 = performance.now();
  const back = (await loadPth(file)) as Record<string, Record<string, Tensor>>;
  const t2 = performance.now();
  console.log(`120 MB of tensors: savePth ${(t1 - t0).toFixed(0)} ms, loadPth ${(t2 - t1).toFixed(0)} ms`);
  assert.ok(t1 - t0 < 4000 && t2 - t1 < 4000, 'each stays within a few seconds on a slow machine');
  const w29 = back.network_weights.w29.toTypedArray() as Float32Array;
  assert.equal(w29.length, 1 << 20);
  assert.ok(w29.every((x) => x === 29.5));
  for (const t of [...Object.values(sd), ...Object.values(back.network_weights)]) t.dispose();
});

import { isOrderedDict, PyFloat, TorchDevice, type PyValue } from '../../../src/torch/serialization/py-values.js';
import { BYTES_PER_ELEMENT } from '../../../src/torch/dtype.js';
import { TensorRecord, type StorageRecord } from '../../../src/torch/serialization/tensor-record.js';

/**
 * A canonical JSON description of a checkpoint value, produced identically here (from records)
 * and in python (PY_DESCRIBE, from real torch objects), so the two sides can be compared exactly:
 * floats as their IEEE bits, tensors as dtype/shape/stride/offset/storage id + contiguous bytes.
 */
export function describe(v: PyValue<TensorRecord>): unknown {
  const sids = new Map<StorageRecord, number>();
  return describeWith(v, (x): x is TensorRecord => x instanceof TensorRecord, (t) => {
    if (!sids.has(t.storage)) sids.set(t.storage, sids.size);
    return { tensor: t.dtype, shape: t.shape, stride: t.strides, offset: t.storageOffset, storage: sids.get(t.storage), bytes: Buffer.from(gather(t)).toString('hex') };
  });
}

/** `describe` for any tensor leaf type, given how to describe one tensor. */
export function describeWith<T extends object>(v: PyValue<T>, isTensor: (x: unknown) => x is T, tensor: (t: T) => unknown): unknown {
  const d = (x: PyValue<T>) => describeWith(x, isTensor, tensor);
  if (v === null) return null;
  switch (typeof v) {
    case 'boolean':
      return { bool: v };
    case 'bigint':
      return { int: v.toString() };
    case 'string':
      return { str: v };
    case 'number':
      return Number.isInteger(v) ? { int: String(v) } : { float: floatHex(v) };
  }
  if (isTensor(v)) return tensor(v);
  if (v instanceof PyFloat) return { float: floatHex(v.value) };
  if (v instanceof TorchDevice) return { device: v.toString() };
  if (v instanceof Uint8Array) return { bytes: Buffer.from(v).toString('hex') };
  if (Array.isArray(v)) return { [Object.isFrozen(v) ? 'tuple' : 'list']: (v as readonly PyValue<T>[]).map(d) };
  const entries: [PyValue<T>, PyValue<T>][] = v instanceof Map ? [...v] : Object.entries(v as Record<string, PyValue<T>>);
  return { [isOrderedDict(v) ? 'odict' : 'dict']: entries.map(([k, x]) => [d(k), d(x)]) };
}

function floatHex(x: number): string {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(x);
  return b.toString('hex');
}

/** The bytes of a record's elements in row-major order (what `t.contiguous()` holds). */
export function gather(t: TensorRecord): Uint8Array {
  const size = BYTES_PER_ELEMENT[t.dtype];
  const n = t.shape.reduce((a, b) => a * b, 1);
  const out = new Uint8Array(n * size);
  const idx = new Array<number>(t.shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    const at = (t.storageOffset + idx.reduce((acc, k, dim) => acc + k * t.strides[dim], 0)) * size;
    out.set(t.storage.bytes.subarray(at, at + size), i * size);
    for (let dim = t.shape.length - 1; dim >= 0 && ++idx[dim] === t.shape[dim]; dim--) idx[dim] = 0;
  }
  return out;
}

/** Python twin of `describe`; defines describe(value) and dump(value) (prints the JSON). */
export const PY_DESCRIBE = String.raw`
import collections, json, struct, sys
import numpy as np
import torch

def describe(v, sids=None):
    sids = {} if sids is None else sids
    d = lambda x: describe(x, sids)
    if v is None: return None
    if isinstance(v, (bool, np.bool_)): return {'bool': bool(v)}
    if isinstance(v, (int, np.integer)): return {'int': str(int(v))}
    if isinstance(v, (float, np.floating)): return {'float': struct.pack('<d', float(v)).hex()}
    if isinstance(v, str): return {'str': v}
    if isinstance(v, bytes): return {'bytes': v.hex()}
    if isinstance(v, torch.device): return {'device': str(v)}
    if isinstance(v, torch.Tensor):
        sid = sids.setdefault(v.storage().data_ptr(), len(sids))
        return {'tensor': str(v.dtype).replace('torch.', ''), 'shape': list(v.shape), 'stride': list(v.stride()),
                'offset': v.storage_offset(), 'storage': sid,
                'bytes': v.detach().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes().hex()}
    if isinstance(v, tuple): return {'tuple': [d(x) for x in v]}
    if isinstance(v, list): return {'list': [d(x) for x in v]}
    if isinstance(v, dict):
        kind = 'odict' if isinstance(v, collections.OrderedDict) else 'dict'
        return {kind: [[d(k), d(x)] for k, x in v.items()]}
    raise TypeError(type(v))

def dump(v):
    print(json.dumps(describe(v)))
`;

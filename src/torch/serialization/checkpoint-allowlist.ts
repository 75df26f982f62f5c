import type { DType } from '../dtype.js';
import { DictBuilder, PyGlobal, SET_STATE } from './pickle-reader.js';
import { TorchDevice } from './py-values.js';
import { dtypeOfStorageClass, STORAGE_CLASS } from './storage-dtypes.js';
import { StorageRecord, TensorRecord } from './tensor-record.js';

/**
 * The Python globals a checkpoint may name, and what each builds. Everything else is refused by
 * the reader. Covers torch.save output of torch 1.13 and 2.x, including nnU-Net checkpoints
 * (state dicts, optimizer state, numpy scalars in the logs, torch.device in init_args).
 */

const isIndexTuple = (x: unknown): x is readonly number[] =>
  Array.isArray(x) && x.every((n) => Number.isSafeInteger(n) && n >= 0);

function tensorFrom(storage: unknown, offset: unknown, size: unknown, stride: unknown): TensorRecord {
  if (!(storage instanceof StorageRecord)) throw new Error('first argument is not a checkpoint storage');
  if (!Number.isSafeInteger(offset) || !isIndexTuple(size) || !isIndexTuple(stride)) {
    throw new Error('offset, size and stride must be non-negative integers');
  }
  return new TensorRecord(storage, size, stride, offset as number);
}

/** Storage and tensor class tokens: named in persistent ids and `_rebuild_from_type_v2`, never called. */
class ClassToken extends PyGlobal {}

/** numpy.dtype while unpickling: only what a numpy scalar needs (kind, size, byte order). */
class NumpyDType {
  byteOrder = '<';
  constructor(readonly code: string) {}

  [SET_STATE](state: unknown): void {
    if (!Array.isArray(state) || typeof state[1] !== 'string') throw new Error('numpy.dtype state is not a tuple');
    this.byteOrder = state[1];
  }
}

function numpyScalar(dtype: unknown, data: unknown): number | bigint | boolean {
  if (!(dtype instanceof NumpyDType) || !(data instanceof Uint8Array)) throw new Error('expects (dtype, bytes)');
  const code = dtype.code.replace(/^[<>=|]/, '');
  const little = dtype.byteOrder !== '>';
  const sizes: Record<string, number> = { f2: 2, f4: 4, f8: 8, i1: 1, i2: 2, i4: 4, i8: 8, u1: 1, u2: 2, u4: 4, u8: 8, b1: 1 };
  if (sizes[code] !== data.length) throw new Error(`unsupported numpy scalar type '${dtype.code}'`);
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const safe = (b: bigint) => (b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b);
  switch (code) {
    case 'f2': {
      const h = v.getUint16(0, little);
      const exp = (h >> 10) & 0x1f;
      const mant = h & 0x3ff;
      const mag = exp === 0 ? mant * 2 ** -24 : exp === 31 ? (mant ? NaN : Infinity) : (1 + mant / 1024) * 2 ** (exp - 15);
      return h & 0x8000 ? -mag : mag;
    }
    case 'f4':
      return v.getFloat32(0, little);
    case 'f8':
      return v.getFloat64(0, little);
    case 'i1':
      return v.getInt8(0);
    case 'i2':
      return v.getInt16(0, little);
    case 'i4':
      return v.getInt32(0, little);
    case 'i8':
      return safe(v.getBigInt64(0, little));
    case 'u1':
      return v.getUint8(0);
    case 'u2':
      return v.getUint16(0, little);
    case 'u4':
      return v.getUint32(0, little);
    case 'u8':
      return safe(v.getBigUint64(0, little));
    default:
      return v.getUint8(0) !== 0;
  }
}

const TENSOR = new ClassToken('torch.Tensor');
const PARAMETER = new ClassToken('torch.nn.parameter.Parameter');

function build(): Map<string, PyGlobal> {
  const grants: PyGlobal[] = [
    new PyGlobal('collections.OrderedDict', (args) => {
      if (args.length !== 0) throw new Error('only the empty constructor is accepted');
      return new DictBuilder(true);
    }),
    new PyGlobal('torch._utils._rebuild_tensor', (a) => tensorFrom(a[0], a[1], a[2], a[3])),
    // (storage, offset, size, stride, requires_grad, backward_hooks[, metadata])
    new PyGlobal('torch._utils._rebuild_tensor_v2', (a) => tensorFrom(a[0], a[1], a[2], a[3])),
    // (data, requires_grad, backward_hooks[, state]): a Parameter is read as its data.
    new PyGlobal('torch._utils._rebuild_parameter', (a) => checkedTensor(a[0])),
    new PyGlobal('torch._utils._rebuild_parameter_with_state', (a) => checkedTensor(a[0])),
    // torch 2.x: (func, cls, args, state) for tensors carrying Python attributes.
    new PyGlobal('torch._tensor._rebuild_from_type_v2', (a) => {
      const [func, cls, args] = a;
      if (cls !== TENSOR && cls !== PARAMETER) throw new Error('only torch.Tensor and Parameter are accepted');
      if (!(func instanceof PyGlobal) || !func.call || !Array.isArray(args)) throw new Error('malformed arguments');
      return func.call(args);
    }),
    TENSOR,
    PARAMETER,
    new PyGlobal('torch.device', (a) => {
      const [spec, index] = a;
      if (typeof spec !== 'string') throw new Error('device type must be a string');
      const m = /^([a-z_]+)(?::(\d+))?$/.exec(spec);
      if (!m) throw new Error(`bad device '${spec}'`);
      const idx = typeof index === 'number' ? index : m[2] !== undefined ? Number(m[2]) : null;
      return new TorchDevice(m[1], idx);
    }),
    new PyGlobal('torch.Size', (a) => {
      if (!isIndexTuple(a[0])) throw new Error('expects a tuple of sizes');
      return Object.freeze([...a[0]]);
    }),
    new PyGlobal('numpy.dtype', (a) => {
      if (typeof a[0] !== 'string') throw new Error('expects a type code');
      return new NumpyDType(a[0]);
    }),
    new PyGlobal('numpy.core.multiarray.scalar', (a) => numpyScalar(a[0], a[1])),
    new PyGlobal('numpy._core.multiarray.scalar', (a) => numpyScalar(a[0], a[1])),
    // Protocol 2 spells bytes as _codecs.encode(text, 'latin1'); only that exact use is granted.
    new PyGlobal('_codecs.encode', (a) => {
      if (typeof a[0] !== 'string' || (a[1] !== 'latin1' && a[1] !== 'latin-1')) throw new Error("only 'latin1' is accepted");
      return Uint8Array.from(Buffer.from(a[0], 'latin1'));
    }),
  ];
  for (const cls of Object.values(STORAGE_CLASS)) grants.push(new ClassToken(`torch.${cls}`));
  return new Map(grants.map((g) => [g.qualifiedName, g]));
}

function checkedTensor(x: unknown): TensorRecord {
  if (!(x instanceof TensorRecord)) throw new Error('data is not a tensor');
  return x;
}

let allowList: Map<string, PyGlobal> | undefined;

/** Looks up `module.name` on the allow-list. */
export function allowedGlobal(module: string, name: string): PyGlobal | undefined {
  allowList ??= build();
  return allowList.get(`${module}.${name}`);
}

/** The dtype a storage class token stands for. */
export function storageDType(token: unknown): DType | undefined {
  if (!(token instanceof ClassToken) || !token.qualifiedName.startsWith('torch.')) return undefined;
  return dtypeOfStorageClass(token.qualifiedName.slice('torch.'.length));
}

import { PickleWriter } from './pickle-writer.js';
import { isOrderedDict, isPlainObject, PyFloat, TorchDevice, type PyValue } from './py-values.js';
import { STORAGE_CLASS } from './storage-dtypes.js';
import { writeStoredZip } from './stored-zip.js';
import { TensorRecord, type StorageRecord } from './tensor-record.js';

/** Python pickles lists and dicts in batches of this many items. */
const BATCH = 1000;

/**
 * Encodes a value tree as a torch.save zip checkpoint, returned as chunks (storage bytes are not
 * copied). Layout as torch writes it: `<archive>/data.pkl` (protocol 2), `<archive>/data/<key>`
 * aligned to 64 bytes, `<archive>/version` = 3, plus `<archive>/byteorder`. Objects and Maps
 * marked with `pyOrderedDict` (state dicts; the reader marks those it reads) become
 * collections.OrderedDict. The mark is explicit because "all values are tensors" would also catch
 * plain dicts such as an optimizer's per-parameter state.
 */
export function encodePth(value: PyValue<TensorRecord>, archiveName = 'archive'): Uint8Array[] {
  const w = new PickleWriter();
  const keys = new Map<StorageRecord, string>();
  const active = new Set<object>();

  const dict = (entries: [PyValue<TensorRecord>, PyValue<TensorRecord>][], ordered: boolean, path: string) => {
    if (ordered) {
      w.global('collections', 'OrderedDict');
      w.emptyTuple();
      w.reduce();
    } else w.emptyDict();
    for (let i = 0; i < entries.length; i += BATCH) {
      w.mark();
      for (const [k, v] of entries.slice(i, i + BATCH)) {
        put(k, `${path}[key]`);
        put(v, `${path}.${String(k)}`);
      }
      w.setItems();
    }
  };

  const tensor = (t: TensorRecord) => {
    let key = keys.get(t.storage);
    if (key === undefined) {
      key = String(keys.size);
      keys.set(t.storage, key);
    }
    w.global('torch._utils', '_rebuild_tensor_v2');
    w.mark();
    w.mark();
    w.string('storage');
    w.global('torch', STORAGE_CLASS[t.dtype]);
    w.string(key);
    w.string('cpu');
    w.int(t.storage.numel);
    w.tupleFromMark();
    w.persistentId();
    w.int(t.storageOffset);
    w.mark();
    for (const s of t.shape) w.int(s);
    w.tupleFromMark();
    w.mark();
    for (const s of t.strides) w.int(s);
    w.tupleFromMark();
    w.bool(false); // requires_grad
    w.global('collections', 'OrderedDict'); // backward hooks
    w.emptyTuple();
    w.reduce();
    w.tupleFromMark();
    w.reduce();
  };

  const put = (v: PyValue<TensorRecord>, path: string): void => {
    if (v === null) return w.none();
    switch (typeof v) {
      case 'boolean':
        return w.bool(v);
      case 'bigint':
        return w.int(v);
      case 'string':
        return w.string(v);
      case 'number':
        return Number.isInteger(v) && !Object.is(v, -0) ? w.int(v) : w.float(v);
    }
    if (typeof v !== 'object') throw new Error(`cannot save ${typeof v} at ${path}`);
    if (v instanceof PyFloat) return w.float(v.value);
    if (v instanceof TensorRecord) return tensor(v);
    if (v instanceof TorchDevice) {
      w.global('torch', 'device');
      w.mark();
      w.string(v.type);
      if (v.index !== null) w.int(v.index);
      w.tupleFromMark();
      return w.reduce();
    }
    if (v instanceof Uint8Array) {
      // Protocol 2 has no bytes opcode; Python itself writes _codecs.encode(latin1 text, 'latin1').
      w.global('_codecs', 'encode');
      w.mark();
      w.string(Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('latin1'));
      w.string('latin1');
      w.tupleFromMark();
      return w.reduce();
    }
    if (active.has(v)) throw new Error(`cannot save a value that contains itself (at ${path})`);
    active.add(v);
    if (Array.isArray(v)) {
      const items = v as readonly PyValue<TensorRecord>[];
      if (Object.isFrozen(v)) {
        w.mark();
        items.forEach((item, i) => put(item, `${path}[${i}]`));
        w.tupleFromMark();
      } else {
        w.emptyList();
        for (let i = 0; i < items.length; i += BATCH) {
          w.mark();
          items.slice(i, i + BATCH).forEach((item, j) => put(item, `${path}[${i + j}]`));
          w.appends();
        }
      }
    } else if (v instanceof Map) {
      dict([...v.entries()], isOrderedDict(v), path);
    } else if (isPlainObject(v)) {
      dict(Object.entries(v), isOrderedDict(v), path);
    } else {
      throw new Error(`cannot save a ${v.constructor?.name ?? 'object'} at ${path}`);
    }
    active.delete(v);
  };

  put(value, 'root');
  const pkl = w.finish();
  const dir = `${archiveName}/`;
  return writeStoredZip([
    { name: `${dir}data.pkl`, data: pkl },
    { name: `${dir}byteorder`, data: Buffer.from('little') },
    ...[...keys].map(([storage, key]) => ({ name: `${dir}data/${key}`, data: storage.bytes })),
    { name: `${dir}version`, data: Buffer.from('3\n') },
  ]);
}

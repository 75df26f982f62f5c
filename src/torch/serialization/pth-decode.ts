import { UserError } from '../../errors.js';
import { allowedGlobal, storageDType } from './checkpoint-allowlist.js';
import { unpickle } from './pickle-reader.js';
import { TorchDevice, type PyValue } from './py-values.js';
import { BYTES_PER_ELEMENT } from '../dtype.js';
import { readStoredZip } from './stored-zip.js';
import { StorageRecord, TensorRecord } from './tensor-record.js';

/**
 * Decodes the bytes of a torch.save zip checkpoint (torch >= 1.6 layout, any archive folder
 * name) into a value tree whose tensors are `TensorRecord`s viewing `bytes` without copying.
 * `source` names the file in error messages.
 */
export function decodePth(bytes: Uint8Array, source: string): PyValue<TensorRecord> {
  const sig = bytes.length >= 4 ? Buffer.from(bytes.buffer, bytes.byteOffset, 4).toString('latin1') : '';
  if (sig !== 'PK\x03\x04') {
    if (bytes[0] === 0x80 || isTar(bytes)) {
      throw new UserError(
        `${source}: legacy (non-zip) torch.save format, written by torch < 1.6 or with _use_new_zipfile_serialization=False; ` +
          'load and re-save it with a current torch to use it here',
      );
    }
    throw new UserError(`${source}: not a PyTorch checkpoint (no zip signature${bytes.length < 4 ? '; the file is nearly empty' : ''})`);
  }
  const entries = readStoredZip(bytes, source);
  const pklName = [...entries.keys()].find((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pklName === undefined) throw new UserError(`${source}: the zip has no <archive>/data.pkl, so it is not a torch.save checkpoint`);
  const prefix = pklName.slice(0, -'data.pkl'.length);
  const byteOrder = entries.get(`${prefix}byteorder`);
  if (byteOrder && Buffer.from(byteOrder).toString('latin1').trim() !== 'little') {
    throw new UserError(`${source}: big-endian checkpoints are not supported`);
  }

  const storages = new Map<string, StorageRecord>();
  const persistentLoad = (pid: unknown): StorageRecord => {
    if (!Array.isArray(pid) || pid.length !== 5 || pid[0] !== 'storage') {
      throw new UserError(`${source}: persistent id is not a ('storage', type, key, location, numel) tuple`);
    }
    const [, cls, key, , numel] = pid as unknown[];
    const dtype = storageDType(cls);
    if (dtype === undefined) throw new UserError(`${source}: unsupported storage type in persistent id`);
    if (typeof key !== 'string' || !Number.isSafeInteger(numel)) throw new UserError(`${source}: malformed storage key or size`);
    const known = storages.get(key);
    if (known) return known;
    const data = entries.get(`${prefix}data/${key}`);
    if (!data) throw new UserError(`${source}: storage ${key} is missing from the archive`);
    const size = (numel as number) * BYTES_PER_ELEMENT[dtype];
    if (data.byteLength < size) throw new UserError(`${source}: storage ${key} holds ${data.byteLength} bytes, expected ${size}`);
    const record = new StorageRecord(key, dtype, data.subarray(0, size));
    storages.set(key, record);
    return record;
  };

  return unpickle(entries.get(pklName)!, {
    source,
    resolveGlobal: allowedGlobal,
    persistentLoad,
    isLeaf: (v) => v instanceof TensorRecord || v instanceof TorchDevice,
  }) as PyValue<TensorRecord>;
}

/** Legacy torch.save could also write a tar archive ("ustar" magic at offset 257). */
function isTar(bytes: Uint8Array): boolean {
  return bytes.length > 262 && Buffer.from(bytes.buffer, bytes.byteOffset + 257, 5).toString('latin1') === 'ustar';
}

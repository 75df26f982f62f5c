import { UserError } from '../../errors.js';
import { Tensor } from '../tensor.js';
import { mapTensors } from './map-tensors.js';
import { readPthRecords, writePthRecords } from './pth-records-io.js';
import type { PyValue } from './py-values.js';
import { TensorRecord, type StorageRecord } from './tensor-record.js';

/** Read failures a user causes (a folder given as the file, a file too large to read at once) as UserErrors. */
function readError(err: unknown, filePath: string): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EISDIR') return new UserError(`${filePath}: is a folder, not a checkpoint file`);
  if (code === 'ERR_FS_FILE_TOO_LARGE') return new UserError(`${filePath}: larger than the 2 GiB a checkpoint file can be read at once`);
  return err;
}

/** A checkpoint value tree with engine tensors at the leaves. */
export type PthValue = PyValue<Tensor>;

/**
 * Loads a torch.save checkpoint (e.g. an nnU-Net `checkpoint_final.pth`) with the restricted
 * reader. Tensors are CPU tensors that keep their strides, offsets and shared storages; they are
 * not tracked by any tidy() scope, so the caller owns (and disposes) them.
 */
export async function loadPth(filePath: string): Promise<PthValue> {
  const records = await readPthRecords(filePath).catch((err: unknown) => {
    throw readError(err, filePath);
  });
  const bases = new Map<StorageRecord, Tensor>();
  const views: Tensor[] = [];
  try {
    return mapTensors(
      records,
      (x): x is TensorRecord => x instanceof TensorRecord,
      (r) => {
        let base = bases.get(r.storage);
        if (!base) {
          base = Tensor.fromBuffer(r.storage.bytes, [r.storage.numel], r.dtype);
          bases.set(r.storage, base);
        }
        const view = base.asStrided([...r.shape], [...r.strides], r.storageOffset);
        views.push(view);
        return view;
      },
    );
  } catch (err) {
    for (const v of views) v.dispose();
    throw err;
  } finally {
    // The views hold the storages; the flat base handles are no longer needed.
    for (const b of bases.values()) b.dispose();
  }
}

/**
 * Saves a value tree as a torch.save checkpoint that Python's `torch.load` opens, atomically.
 * Each tensor is stored contiguous on the CPU; a tensor object reached twice is stored once.
 * Wrap state dicts in `pyOrderedDict` to write them as collections.OrderedDict.
 */
export async function savePth(filePath: string, value: PthValue): Promise<void> {
  let count = 0;
  const records = mapTensors(
    value,
    (x): x is Tensor => x instanceof Tensor,
    (t) => TensorRecord.contiguous(String(count++), t.dtype, t.shape, t.toBuffer()),
  );
  await writePthRecords(filePath, records);
}

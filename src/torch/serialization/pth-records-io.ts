import { readFile } from 'node:fs/promises';
import { UserError } from '../../errors.js';
import { writeFileAtomic } from '../../atomic-write.js';
import { decodePth } from './pth-decode.js';
import { encodePth } from './pth-encode.js';
import type { PyValue } from './py-values.js';
import type { TensorRecord } from './tensor-record.js';

/** Reads a torch.save checkpoint file; tensors are `TensorRecord`s viewing the file's bytes. */
export async function readPthRecords(filePath: string): Promise<PyValue<TensorRecord>> {
  let bytes: Buffer;
  try {
    bytes = await readFile(filePath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new UserError(`${filePath}: checkpoint file does not exist`);
    throw err;
  }
  return decodePth(bytes, filePath);
}

/** Writes a value tree as a torch.save checkpoint, atomically (readers never see a partial file). */
export async function writePthRecords(filePath: string, value: PyValue<TensorRecord>): Promise<void> {
  await writeFileAtomic(filePath, Buffer.concat(encodePth(value)));
}

import { BYTES_PER_ELEMENT, type DType } from '../dtype.js';

/** One storage of a checkpoint: raw little-endian bytes (`archive/data/<key>`). Shared by every view of it. */
export class StorageRecord {
  constructor(
    readonly key: string,
    readonly dtype: DType,
    readonly bytes: Uint8Array,
  ) {
    if (bytes.byteLength % BYTES_PER_ELEMENT[dtype] !== 0) {
      throw new Error(`storage ${key}: ${bytes.byteLength} bytes is not a whole number of ${dtype} elements`);
    }
  }

  get numel(): number {
    return this.bytes.byteLength / BYTES_PER_ELEMENT[this.dtype];
  }
}

/** A tensor as a checkpoint describes it: a strided view into a storage, independent of any engine. */
export class TensorRecord {
  constructor(
    readonly storage: StorageRecord,
    readonly shape: readonly number[],
    readonly strides: readonly number[],
    readonly storageOffset: number,
  ) {
    const bad = (why: string) => new Error(`tensor on storage ${storage.key}: ${why}`);
    if (shape.length !== strides.length) throw bad(`shape [${shape}] and strides [${strides}] differ in rank`);
    const isIndex = (n: number) => Number.isSafeInteger(n) && n >= 0;
    if (!shape.every(isIndex) || !strides.every(isIndex) || !isIndex(storageOffset)) {
      throw bad(`shape [${shape}], strides [${strides}] and offset ${storageOffset} must be non-negative integers`);
    }
    if (shape.every((s) => s > 0)) {
      const last = shape.reduce((acc, s, i) => acc + (s - 1) * strides[i], storageOffset);
      if (last >= storage.numel) throw bad(`view reaches element ${last} but the storage holds ${storage.numel}`);
    }
  }

  get dtype(): DType {
    return this.storage.dtype;
  }

  /** Builds the record of a contiguous tensor that owns all of `bytes`. */
  static contiguous(key: string, dtype: DType, shape: readonly number[], bytes: Uint8Array): TensorRecord {
    const strides = new Array<number>(shape.length);
    let step = 1;
    for (let i = shape.length - 1; i >= 0; i--) {
      strides[i] = step;
      step *= shape[i];
    }
    return new TensorRecord(new StorageRecord(key, dtype, bytes), shape, strides, 0);
  }
}

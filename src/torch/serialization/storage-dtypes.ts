import type { DType } from '../dtype.js';

/** The legacy typed-storage class torch.save names in a persistent id for each dtype. */
export const STORAGE_CLASS: Readonly<Record<DType, string>> = {
  float32: 'FloatStorage',
  float64: 'DoubleStorage',
  float16: 'HalfStorage',
  bfloat16: 'BFloat16Storage',
  int64: 'LongStorage',
  int32: 'IntStorage',
  int16: 'ShortStorage',
  int8: 'CharStorage',
  uint8: 'ByteStorage',
  bool: 'BoolStorage',
};

const BY_STORAGE_CLASS = new Map<string, DType>(Object.entries(STORAGE_CLASS).map(([d, cls]) => [cls, d as DType]));

/** The dtype of a `torch.<name>` storage class, or undefined when it is not one we can hold. */
export function dtypeOfStorageClass(name: string): DType | undefined {
  return BY_STORAGE_CLASS.get(name);
}

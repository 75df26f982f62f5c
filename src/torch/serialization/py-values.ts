/**
 * The JS shapes of the Python values a checkpoint holds. `T` is the tensor leaf type
 * (a `TensorRecord` in the file layer, an engine `Tensor` in `pth-file.ts`).
 *
 * Mapping: None ↔ null, bool ↔ boolean, int ↔ number (bigint beyond 2^53), float ↔ number
 * (integral JS numbers are written as int unless wrapped with `pyFloat`), str ↔ string,
 * bytes ↔ Uint8Array, list ↔ array, tuple ↔ frozen array (`pyTuple`), dict with only str keys ↔
 * plain object (OrderedDict marked with `pyOrderedDict`), dict with other keys ↔ Map,
 * torch.device ↔ TorchDevice. numpy scalars are read as plain numbers/booleans.
 */
export type PyValue<T> =
  | null
  | boolean
  | number
  | bigint
  | string
  | PyFloat
  | Uint8Array
  | TorchDevice
  | T
  | PyValue<T>[]
  | readonly PyValue<T>[]
  | PyDict<T>
  | Map<PyKey, PyValue<T>>;

export interface PyDict<T> {
  [key: string]: PyValue<T>;
}

/** Hashable values usable as dict keys. */
export type PyKey = string | number | bigint | boolean | null | readonly PyKey[];

/** Forces a Python float for a JS number that happens to be integral (e.g. `pyFloat(1)` → `1.0`). */
export class PyFloat {
  constructor(readonly value: number) {}
}

export function pyFloat(value: number): PyFloat {
  return new PyFloat(value);
}

/** A `torch.device`; `index` is null when the device was given without one (`torch.device('cuda')`). */
export class TorchDevice {
  constructor(
    readonly type: string,
    readonly index: number | null = null,
  ) {}

  toString(): string {
    return this.index === null ? this.type : `${this.type}:${this.index}`;
  }
}

/** A Python tuple: tuples are read as frozen arrays and frozen arrays are written as tuples. */
export function pyTuple<E>(...items: E[]): readonly E[] {
  return Object.freeze(items);
}

const ORDERED_DICT = Symbol('collections.OrderedDict');

/** Marks a dict (object or Map) to be written as `collections.OrderedDict`; the reader marks the ones it reads. */
export function pyOrderedDict<D extends object>(dict: D): D {
  Object.defineProperty(dict, ORDERED_DICT, { value: true, enumerable: false });
  return dict;
}

export function isOrderedDict(dict: object): boolean {
  return Object.prototype.hasOwnProperty.call(dict, ORDERED_DICT);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Sets `obj[key] = value` as an own data property: a key such as "__proto__" read from a file
 * must not reach the prototype setter.
 */
export function defineEntry(obj: object, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

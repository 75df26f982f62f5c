import { defineEntry, isOrderedDict, isPlainObject, pyOrderedDict, type PyKey, type PyValue } from './py-values.js';

/**
 * Rebuilds a value tree with every tensor leaf (those `isTensor` accepts) replaced by `convert(leaf)`.
 * Tuples stay frozen, OrderedDict marks are kept, and an object reached twice is converted once,
 * so shared tensors stay shared.
 */
export function mapTensors<A extends object, B>(
  value: PyValue<A>,
  isTensor: (x: unknown) => x is A,
  convert: (leaf: A) => B,
): PyValue<B> {
  const done = new Map<object, PyValue<B>>();
  const walk = (v: PyValue<A>): PyValue<B> => {
    if (typeof v !== 'object' || v === null) return v;
    const seen = done.get(v);
    if (seen !== undefined) return seen;
    let out: PyValue<B>;
    if (isTensor(v)) {
      out = convert(v);
    } else if (Array.isArray(v)) {
      const items: PyValue<B>[] = [];
      done.set(v, items);
      for (const item of v as readonly PyValue<A>[]) items.push(walk(item));
      out = Object.isFrozen(v) ? Object.freeze(items) : items;
    } else if (v instanceof Map) {
      const map = new Map<PyKey, PyValue<B>>();
      done.set(v, map);
      for (const [k, x] of v) map.set(k, walk(x));
      out = isOrderedDict(v) ? pyOrderedDict(map) : map;
    } else if (isPlainObject(v)) {
      const obj: Record<string, PyValue<B>> = {};
      done.set(v, obj);
      for (const [k, x] of Object.entries(v)) defineEntry(obj, k, walk(x as PyValue<A>));
      out = isOrderedDict(v) ? pyOrderedDict(obj) : obj;
    } else {
      // Leaves shared by both trees: PyFloat, TorchDevice, bytes.
      out = v as PyValue<B>;
    }
    done.set(v, out);
    return out;
  };
  return walk(value);
}

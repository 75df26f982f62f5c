// Deterministic freeing of native tensors, like tf.tidy: every tensor created inside `tidy(fn)` is freed when fn
// returns, except the tensors fn returns (which move to the enclosing scope) and tensors marked with keep().

export interface Disposable {
  dispose(): void;
  /** @internal set by keep(): survives every scope end */
  kept: boolean;
  /** @internal */
  readonly isDisposed: boolean;
}

const scopes: Disposable[][] = [];

/** @internal called by every tensor constructor */
export function track(t: Disposable): void {
  const top = scopes[scopes.length - 1];
  if (top) top.push(t);
}

function collect(value: unknown, out: Set<Disposable>, depth = 0): void {
  if (value === null || typeof value !== 'object' || depth > 4) return;
  if (typeof (value as Disposable).dispose === 'function' && 'kept' in (value as object)) {
    out.add(value as Disposable);
    return;
  }
  if (Array.isArray(value)) for (const v of value) collect(v, out, depth + 1);
  else if (value instanceof Map) for (const v of value.values()) collect(v, out, depth + 1);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collect(v, out, depth + 1);
}

/** Runs fn; frees every tensor it created except those in its result (arrays, Maps and plain objects are searched). */
export function tidy<R>(fn: () => R): R {
  if ((fn as unknown as { constructor: { name: string } }).constructor.name === 'AsyncFunction') {
    throw new Error('tidy() takes a synchronous function: tensors created after an await would escape the scope');
  }
  const scope: Disposable[] = [];
  scopes.push(scope);
  let result: R;
  try {
    result = fn();
  } catch (error) {
    scopes.pop();
    for (const t of scope) if (!t.kept && !t.isDisposed) t.dispose();
    throw error;
  }
  scopes.pop();
  const survivors = new Set<Disposable>();
  collect(result, survivors);
  const parent = scopes[scopes.length - 1];
  for (const t of scope) {
    if (survivors.has(t)) parent?.push(t);
    else if (!t.kept && !t.isDisposed) t.dispose();
  }
  return result;
}

/** Exempts tensors from every scope: the caller frees them (module parameters, optimizer state, caches). */
export function keep<T extends Disposable>(t: T): T {
  t.kept = true;
  return t;
}

/** Frees every tensor found in a value (arrays, Maps and plain objects are searched). */
export function dispose(value: unknown): void {
  const found = new Set<Disposable>();
  collect(value, found);
  for (const t of found) if (!t.isDisposed) t.dispose();
}

/** Number of open tidy scopes (for tests and assertions). */
export function scopeDepth(): number {
  return scopes.length;
}

// The typed tensor: a handle to one libtorch tensor. Every op returns a new Tensor tracked by the current tidy()
// scope; in-place ops (trailing underscore) change this tensor and return it.
import { ARRAY_OF, BYTES_PER_ELEMENT, type DType, dtypeOfArray, type TypedArray } from './dtype.js';
import { native, type NativeTensor, type TensorMeta } from './native.js';
import { type Disposable, track } from './scope.js';

export type { DType, TypedArray } from './dtype.js';
export type Device = 'cpu' | 'cuda' | `cuda:${number}`;
type Operand = Tensor | number | boolean;
export type InterpolationMode = 'nearest' | 'nearest-exact' | 'linear' | 'bilinear' | 'trilinear' | 'bicubic' | 'area';

function raw(x: Operand): NativeTensor | number | boolean {
  return x instanceof Tensor ? x.native : x;
}

function normDim(dim: number, ndim: number): number {
  return dim < 0 ? dim + ndim : dim;
}

export class Tensor implements Disposable {
  kept = false;
  private handle: NativeTensor | null;
  private metaCache: TensorMeta | null = null;

  /** @internal wraps a handle returned by the addon */
  constructor(handle: NativeTensor) {
    this.handle = handle;
    track(this);
  }

  /** @internal the addon handle (throws after dispose) */
  get native(): NativeTensor {
    if (this.handle === null) throw new Error('tensor was already disposed');
    return this.handle;
  }

  get isDisposed(): boolean {
    return this.handle === null;
  }

  /** Frees the native tensor and its wrapper at once (no finalizer is left for the collector). */
  dispose(): void {
    if (this.handle) this.handle.free();
    this.handle = null;
    this.metaCache = null;
  }

  private get meta(): TensorMeta {
    // shape, dtype and device never change for a handle: read them once
    this.metaCache ??= native.meta(this.native);
    return this.metaCache;
  }

  get shape(): number[] {
    return this.meta.shape.slice();
  }
  get dtype(): DType {
    return this.meta.dtype as DType;
  }
  get device(): string {
    return this.meta.device;
  }
  get ndim(): number {
    return this.meta.shape.length;
  }
  get numel(): number {
    return this.meta.shape.reduce((a, b) => a * b, 1);
  }
  get strides(): number[] {
    return native.meta(this.native).strides;
  }
  get storageOffset(): number {
    return native.meta(this.native).storageOffset;
  }
  size(dim: number): number {
    return this.meta.shape[normDim(dim, this.ndim)];
  }

  // ---- data out ----
  /** Copy of the elements in C order, as the TypedArray of this dtype (float16/bfloat16: raw Uint16 bits). */
  toTypedArray(): TypedArray {
    return new ARRAY_OF[this.dtype](native.toBuffer(this.native));
  }
  /** Zero-copy view of the (contiguous, CPU) data; stays valid after dispose(). Writes reach the tensor only when it was already contiguous on the CPU. */
  sharedData(): TypedArray {
    return new ARRAY_OF[this.dtype](native.dataView(this.native));
  }
  /** Contiguous little-endian bytes on the CPU (for files). */
  toBuffer(): Buffer {
    return Buffer.from(native.toBuffer(this.native));
  }
  item(): number {
    return Number(native.item(this.native));
  }
  /** Nested-free flat array of numbers (small tensors, tests). */
  toArray(): number[] {
    return Array.from(this.toTypedArray() as ArrayLike<number | bigint>, Number);
  }

  // ---- conversion ----
  to(target: DType | Device): Tensor {
    if ((BYTES_PER_ELEMENT as Record<string, number>)[target] !== undefined) return new Tensor(native.toDtype(this.native, target));
    return new Tensor(native.toDevice(this.native, target));
  }
  float(): Tensor {
    return this.to('float32');
  }
  long(): Tensor {
    return this.to('int64');
  }
  contiguous(): Tensor {
    return this.unary('contiguous');
  }
  clone(): Tensor {
    return this.unary('clone');
  }
  detach(): Tensor {
    return this.unary('detach');
  }

  // ---- elementwise ----
  private unary(op: string): Tensor {
    return new Tensor(native.unary(op, this.native));
  }
  private binary(op: string, other: Operand): Tensor {
    return new Tensor(native.binary(op, this.native, raw(other)));
  }
  add(other: Operand, alpha?: number): Tensor {
    return alpha === undefined ? this.binary('add', other) : new Tensor(native.addScaled(this.native, raw(other), alpha));
  }
  sub(other: Operand): Tensor {
    return this.binary('sub', other);
  }
  mul(other: Operand): Tensor {
    return this.binary('mul', other);
  }
  div(other: Operand): Tensor {
    return this.binary('div', other);
  }
  floorDivide(other: Operand): Tensor {
    return this.binary('floor_divide', other);
  }
  pow(other: Operand): Tensor {
    return this.binary('pow', other);
  }
  remainder(other: Operand): Tensor {
    return this.binary('remainder', other);
  }
  maximum(other: Tensor): Tensor {
    return this.binary('maximum', other);
  }
  minimum(other: Tensor): Tensor {
    return this.binary('minimum', other);
  }
  eq(other: Operand): Tensor {
    return this.binary('eq', other);
  }
  ne(other: Operand): Tensor {
    return this.binary('ne', other);
  }
  lt(other: Operand): Tensor {
    return this.binary('lt', other);
  }
  le(other: Operand): Tensor {
    return this.binary('le', other);
  }
  gt(other: Operand): Tensor {
    return this.binary('gt', other);
  }
  ge(other: Operand): Tensor {
    return this.binary('ge', other);
  }
  logicalAnd(other: Tensor): Tensor {
    return this.binary('logical_and', other);
  }
  logicalOr(other: Tensor): Tensor {
    return this.binary('logical_or', other);
  }
  logicalNot(): Tensor {
    return this.unary('logical_not');
  }
  matmul(other: Tensor): Tensor {
    return this.binary('matmul', other);
  }
  neg(): Tensor {
    return this.unary('neg');
  }
  abs(): Tensor {
    return this.unary('abs');
  }
  exp(): Tensor {
    return this.unary('exp');
  }
  log(): Tensor {
    return this.unary('log');
  }
  log1p(): Tensor {
    return this.unary('log1p');
  }
  sqrt(): Tensor {
    return this.unary('sqrt');
  }
  rsqrt(): Tensor {
    return this.unary('rsqrt');
  }
  square(): Tensor {
    return this.unary('square');
  }
  reciprocal(): Tensor {
    return this.unary('reciprocal');
  }
  sigmoid(): Tensor {
    return this.unary('sigmoid');
  }
  tanh(): Tensor {
    return this.unary('tanh');
  }
  relu(): Tensor {
    return this.unary('relu');
  }
  floor(): Tensor {
    return this.unary('floor');
  }
  ceil(): Tensor {
    return this.unary('ceil');
  }
  round(): Tensor {
    return this.unary('round');
  }
  sign(): Tensor {
    return this.unary('sign');
  }
  sin(): Tensor {
    return this.unary('sin');
  }
  cos(): Tensor {
    return this.unary('cos');
  }
  erf(): Tensor {
    return this.unary('erf');
  }
  isnan(): Tensor {
    return this.unary('isnan');
  }
  isfinite(): Tensor {
    return this.unary('isfinite');
  }
  clamp(min?: number | null, max?: number | null): Tensor {
    return new Tensor(native.clamp(this.native, min, max));
  }
  lerp(end: Tensor, weight: number): Tensor {
    return new Tensor(native.lerp(this.native, end.native, weight));
  }
  maskedFill(mask: Tensor, value: number): Tensor {
    return new Tensor(native.maskedFill(this.native, mask.native, value));
  }

  // ---- in place ----
  add_(other: Operand, alpha?: number): this {
    native.add_(this.native, raw(other), alpha);
    return this;
  }
  sub_(other: Operand): this {
    native.add_(this.native, raw(other), -1);
    return this;
  }
  mul_(other: Operand): this {
    native.mul_(this.native, raw(other));
    return this;
  }
  div_(other: Operand): this {
    native.div_(this.native, raw(other));
    return this;
  }
  copy_(src: Tensor): this {
    native.copy_(this.native, src.native);
    return this;
  }
  fill_(value: number): this {
    native.fill_(this.native, value);
    return this;
  }
  zero_(): this {
    native.zero_(this.native);
    return this;
  }
  clamp_(min?: number | null, max?: number | null): this {
    native.clamp_(this.native, min, max);
    return this;
  }
  addcmul_(a: Tensor, b: Tensor, value = 1): this {
    native.addcmul_(this.native, a.native, b.native, value);
    return this;
  }
  addcdiv_(a: Tensor, b: Tensor, value = 1): this {
    native.addcdiv_(this.native, a.native, b.native, value);
    return this;
  }
  lerp_(end: Tensor, weight: number): this {
    native.lerp_(this.native, end.native, weight);
    return this;
  }
  /** this[indices] = values (accumulate: +=); a null index selects the whole axis. */
  indexPut_(indices: (Tensor | null)[], values: Operand, accumulate = false): this {
    native.indexPut_(this.native, indices.map((i) => (i ? i.native : null)), raw(values), accumulate);
    return this;
  }

  // ---- reductions ----
  sum(dims?: number | number[], keepdim = false, dtype?: DType): Tensor {
    return new Tensor(native.sum(this.native, dims === undefined ? null : [dims].flat(), keepdim, dtype));
  }
  mean(dims?: number | number[], keepdim = false): Tensor {
    return new Tensor(native.mean(this.native, dims === undefined ? null : [dims].flat(), keepdim));
  }
  amax(dims?: number | number[], keepdim = false): Tensor {
    return new Tensor(native.amax(this.native, dims === undefined ? null : [dims].flat(), keepdim));
  }
  amin(dims?: number | number[], keepdim = false): Tensor {
    return new Tensor(native.amin(this.native, dims === undefined ? null : [dims].flat(), keepdim));
  }
  /** Over all elements, or values and indices along one dim. */
  max(): Tensor;
  max(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  max(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    if (dim === undefined) return this.amax();
    const [values, indices] = native.maxDim(this.native, dim, keepdim);
    return { values: new Tensor(values), indices: new Tensor(indices) };
  }
  min(): Tensor;
  min(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  min(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    if (dim === undefined) return this.amin();
    const [values, indices] = native.minDim(this.native, dim, keepdim);
    return { values: new Tensor(values), indices: new Tensor(indices) };
  }
  argmax(dim?: number, keepdim = false): Tensor {
    return new Tensor(native.argmax(this.native, dim, keepdim));
  }
  /** Variance (unbiased by default, as torch.var). */
  var(dims?: number | number[], unbiased = true, keepdim = false): Tensor {
    return new Tensor(native.var(this.native, dims === undefined ? null : [dims].flat(), unbiased, keepdim));
  }
  std(dims?: number | number[], unbiased = true, keepdim = false): Tensor {
    return this.var(dims, unbiased, keepdim).sqrt();
  }
  norm(p = 2, dims?: number | number[], keepdim = false): Tensor {
    return new Tensor(native.norm(this.native, p, dims === undefined ? null : [dims].flat(), keepdim));
  }
  any(): Tensor {
    return new Tensor(native.any(this.native));
  }
  all(): Tensor {
    return new Tensor(native.all(this.native));
  }
  cumsum(dim: number): Tensor {
    return new Tensor(native.cumsum(this.native, dim));
  }
  /** Indices of nonzero elements, shape [n, ndim]. */
  nonzero(): Tensor {
    return new Tensor(native.nonzero(this.native));
  }
  /** Sorted unique values and their counts. */
  unique(): { values: Tensor; counts: Tensor } {
    const [values, counts] = native.unique(this.native);
    return { values: new Tensor(values), counts: new Tensor(counts) };
  }
  sort(dim = -1, descending = false): { values: Tensor; indices: Tensor } {
    const [values, indices] = native.sort(this.native, dim, descending);
    return { values: new Tensor(values), indices: new Tensor(indices) };
  }

  // ---- shape ----
  reshape(shape: number[]): Tensor {
    return new Tensor(native.reshape(this.native, shape));
  }
  flatten(): Tensor {
    return this.reshape([-1]);
  }
  permute(dims: number[]): Tensor {
    return new Tensor(native.permute(this.native, dims));
  }
  transpose(d0: number, d1: number): Tensor {
    return new Tensor(native.transpose(this.native, d0, d1));
  }
  movedim(from: number, to: number): Tensor {
    return new Tensor(native.movedim(this.native, from, to));
  }
  squeeze(dim?: number): Tensor {
    return new Tensor(native.squeeze(this.native, dim));
  }
  unsqueeze(dim: number): Tensor {
    return new Tensor(native.unsqueeze(this.native, dim));
  }
  expand(shape: number[]): Tensor {
    return new Tensor(native.expand(this.native, shape));
  }
  repeat(repeats: number[]): Tensor {
    return new Tensor(native.repeat(this.native, repeats));
  }
  flip(dims: number[]): Tensor {
    return new Tensor(native.flip(this.native, dims));
  }
  /** View of [start, end) with a step along one dim (negative indices count from the end). */
  slice(dim: number, start: number, end?: number, step = 1): Tensor {
    const n = this.size(dim);
    return new Tensor(native.slice(this.native, dim, start, end ?? n, step));
  }
  select(dim: number, index: number): Tensor {
    return new Tensor(native.select(this.native, dim, index));
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return new Tensor(native.indexSelect(this.native, dim, index.native));
  }
  maskedSelect(mask: Tensor): Tensor {
    return new Tensor(native.maskedSelect(this.native, mask.native));
  }
  gather(dim: number, index: Tensor): Tensor {
    return new Tensor(native.gather(this.native, dim, index.native));
  }
  /** Advanced indexing: this[i0, i1, ...] with index tensors (null = whole axis). */
  index(indices: (Tensor | null)[]): Tensor {
    return new Tensor(native.index(this.native, indices.map((i) => (i ? i.native : null))));
  }
  chunk(chunks: number, dim = 0): Tensor[] {
    return native.chunk(this.native, chunks, dim).map((h) => new Tensor(h));
  }
  /** Constant padding; `pad` as torch.nn.functional.pad: [lastBefore, lastAfter, secondLastBefore, ...]. */
  pad(pad: number[], value = 0): Tensor {
    return new Tensor(native.constantPad(this.native, pad, value));
  }
  asStrided(shape: number[], strides: number[], storageOffset = 0): Tensor {
    return new Tensor(native.asStrided(this.native, shape, strides, storageOffset));
  }
  oneHot(numClasses: number): Tensor {
    return new Tensor(native.oneHot(this.native, numClasses));
  }

  // ---- autograd ----
  get requiresGrad(): boolean {
    return native.meta(this.native).requiresGrad;
  }
  requiresGrad_(value = true): this {
    native.setRequiresGrad(this.native, value);
    return this;
  }
  /** The accumulated gradient (a new handle each call, tracked by the current scope), or null. */
  get grad(): Tensor | null {
    const g = native.grad(this.native);
    return g ? new Tensor(g) : null;
  }
  set grad(value: Tensor | null) {
    native.setGrad(this.native, value ? value.native : null);
  }
  backward(gradient?: Tensor): void {
    native.backward(this.native, gradient?.native);
  }

  toString(): string {
    return `Tensor(shape=[${this.shape}], dtype=${this.dtype}, device=${this.device})`;
  }

  // ---- creation ----
  /** Copies bytes (or a TypedArray's elements) into a new CPU tensor. */
  static fromBuffer(data: ArrayBufferView | ArrayBuffer, shape: number[], dtype: DType): Tensor {
    return new Tensor(native.fromBuffer(data, shape, dtype));
  }
}

export function tensor(data: TypedArray | number[], shape?: number[], dtype?: DType): Tensor {
  const d = dtype ?? (Array.isArray(data) ? 'float32' : dtypeOfArray(data));
  let arr: TypedArray;
  if (Array.isArray(data)) {
    const Ctor = ARRAY_OF[d];
    arr = new Ctor(new ArrayBuffer(data.length * BYTES_PER_ELEMENT[d]));
    if (arr instanceof BigInt64Array) data.forEach((v, i) => ((arr as BigInt64Array)[i] = BigInt(v)));
    else if (d === 'float16' || d === 'bfloat16') return tensor(data, shape, 'float32').to(d);
    else (arr as Exclude<TypedArray, BigInt64Array>).set(data);
  } else arr = data;
  return Tensor.fromBuffer(arr, shape ?? [arr.length], d);
}

export function full(shape: number[], value: number, dtype: DType = 'float32', device?: Device): Tensor {
  return new Tensor(native.full(shape, value, dtype, device));
}
export function zeros(shape: number[], dtype: DType = 'float32', device?: Device): Tensor {
  return full(shape, 0, dtype, device);
}
export function ones(shape: number[], dtype: DType = 'float32', device?: Device): Tensor {
  return full(shape, 1, dtype, device);
}
export function empty(shape: number[], dtype: DType = 'float32', device?: Device): Tensor {
  return new Tensor(native.empty(shape, dtype, device));
}
export function zerosLike(t: Tensor): Tensor {
  return zeros(t.shape, t.dtype, t.device as Device);
}
export function arange(start: number, end: number, step = 1, dtype: DType = 'int64', device?: Device): Tensor {
  return new Tensor(native.arange(start, end, step, dtype, device));
}
export function linspace(start: number, end: number, steps: number, dtype: DType = 'float32', device?: Device): Tensor {
  return new Tensor(native.linspace(start, end, steps, dtype, device));
}
export function cat(tensors: Tensor[], dim = 0): Tensor {
  return new Tensor(native.cat(tensors.map((t) => t.native), dim));
}
export function stack(tensors: Tensor[], dim = 0): Tensor {
  return new Tensor(native.stack(tensors.map((t) => t.native), dim));
}
export function where(condition: Tensor, a: Operand, b: Operand): Tensor {
  return new Tensor(native.where(condition.native, raw(a), raw(b)));
}

// Seeded random streams. Every random draw in training comes from a Generator whose state is saved in checkpoints,
// so a resumed run draws exactly what an uninterrupted run would have drawn.
import type { DType } from './dtype.js';
import { native, type NativeGenerator } from './native.js';
import { Tensor } from './tensor.js';
import { tidy } from './scope.js';

export class Generator {
  /** @internal */
  readonly native: NativeGenerator;
  constructor(seed = 0) {
    this.native = new native.Generator(seed);
  }
  manualSeed(seed: number): this {
    this.native.manualSeed(seed);
    return this;
  }
  /** The full generator state (libtorch's CPU generator: 5056 bytes), for checkpoints. */
  getState(): Uint8Array {
    return tidy(() => new Tensor(this.native.getState()).toTypedArray() as Uint8Array);
  }
  setState(state: Uint8Array): this {
    tidy(() => this.native.setState(Tensor.fromBuffer(state, [state.length], 'uint8').native));
    return this;
  }
  /** One uniform double in [0, 1) (for host-side decisions such as "apply this augmentation?"). */
  random(): number {
    return tidy(() => new Tensor(native.rand([1], this.native, 'float64')).item());
  }
  /** Uniform in [low, high). */
  uniform(low: number, high: number): number {
    return low + (high - low) * this.random();
  }
  /** Integer uniform in [low, high). */
  integer(low: number, high: number): number {
    return tidy(() => new Tensor(native.randint(low, high, [1], this.native, 'int64')).item());
  }
}

export function rand(shape: number[], generator?: Generator, dtype: DType = 'float32'): Tensor {
  return new Tensor(native.rand(shape, generator?.native ?? null, dtype));
}
export function randn(shape: number[], generator?: Generator, dtype: DType = 'float32'): Tensor {
  return new Tensor(native.randn(shape, generator?.native ?? null, dtype));
}
/** Integers uniform in [low, high). */
export function randint(low: number, high: number, shape: number[], generator?: Generator, dtype: DType = 'int64'): Tensor {
  return new Tensor(native.randint(low, high, shape, generator?.native ?? null, dtype));
}
export function randperm(n: number, generator?: Generator): Tensor {
  return new Tensor(native.randperm(n, generator?.native ?? null));
}
export function normal_(t: Tensor, mean: number, std: number, generator?: Generator): Tensor {
  native.normal_(t.native, mean, std, generator?.native ?? null);
  return t;
}
export function uniform_(t: Tensor, low: number, high: number, generator?: Generator): Tensor {
  native.uniform_(t.native, low, high, generator?.native ?? null);
  return t;
}
export function multinomial(probs: Tensor, n: number, replacement: boolean, generator?: Generator): Tensor {
  return new Tensor(native.multinomial(probs.native, n, replacement, generator?.native ?? null));
}
/** Seeds libtorch's global generator (used where no Generator is passed). */
export function manualSeed(seed: number): void {
  native.manualSeed(seed);
}

// Loads the libtorch addon built from native/ and describes its surface. Only src/torch/ talks to it.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface NativeTensor {
  free(): void;
  isFreed(): boolean;
}
export interface NativeGenerator {
  manualSeed(seed: number): void;
  getState(): NativeTensor;
  setState(state: NativeTensor): void;
}
export interface TensorMeta {
  shape: number[];
  strides: number[];
  dtype: string;
  device: string;
  requiresGrad: boolean;
  storageOffset: number;
}
type T = NativeTensor;
type Operand = NativeTensor | number | boolean;
type Opt<X> = X | null | undefined;

export interface NativeBinding {
  Generator: new (seed?: number) => NativeGenerator;
  torchVersion: string;
  fromBuffer(data: ArrayBufferView | ArrayBuffer, shape: number[], dtype: string): T;
  toBuffer(t: T): ArrayBuffer;
  dataView(t: T): ArrayBuffer;
  item(t: T): number | boolean;
  meta(t: T): TensorMeta;
  unary(op: string, t: T): T;
  binary(op: string, a: Operand, b: Operand): T;
  addScaled(a: T, b: Operand, alpha: number): T;
  clamp(t: T, min: Opt<number>, max: Opt<number>): T;
  where(cond: T, a: Operand, b: Operand): T;
  lerp(a: T, b: T, weight: number): T;
  add_(t: T, other: Operand, alpha?: number): void;
  mul_(t: T, other: Operand): void;
  div_(t: T, other: Operand): void;
  copy_(t: T, src: T): void;
  fill_(t: T, value: number): void;
  zero_(t: T): void;
  addcmul_(t: T, a: T, b: T, value: number): void;
  addcdiv_(t: T, a: T, b: T, value: number): void;
  lerp_(t: T, end: T, weight: number): void;
  clamp_(t: T, min: Opt<number>, max: Opt<number>): void;
  indexPut_(t: T, indices: (T | null)[], values: Operand, accumulate: boolean): void;
  sum(t: T, dims: Opt<number[]>, keepdim: boolean, dtype: Opt<string>): T;
  mean(t: T, dims: Opt<number[]>, keepdim: boolean): T;
  amax(t: T, dims: Opt<number[]>, keepdim: boolean): T;
  amin(t: T, dims: Opt<number[]>, keepdim: boolean): T;
  argmax(t: T, dim: Opt<number>, keepdim: boolean): T;
  maxDim(t: T, dim: number, keepdim: boolean): [T, T];
  minDim(t: T, dim: number, keepdim: boolean): [T, T];
  var(t: T, dims: Opt<number[]>, unbiased: boolean, keepdim?: boolean): T;
  norm(t: T, p: number, dims: Opt<number[]>, keepdim?: boolean): T;
  any(t: T): T;
  all(t: T): T;
  cumsum(t: T, dim: number): T;
  nonzero(t: T): T;
  unique(t: T): [T, T];
  sort(t: T, dim: number, descending: boolean): [T, T];
  reshape(t: T, shape: number[]): T;
  permute(t: T, dims: number[]): T;
  transpose(t: T, d0: number, d1: number): T;
  movedim(t: T, from: number, to: number): T;
  squeeze(t: T, dim: Opt<number>): T;
  unsqueeze(t: T, dim: number): T;
  expand(t: T, shape: number[]): T;
  repeat(t: T, repeats: number[]): T;
  flip(t: T, dims: number[]): T;
  slice(t: T, dim: number, start: number, end: number, step: number): T;
  select(t: T, dim: number, index: number): T;
  indexSelect(t: T, dim: number, index: T): T;
  maskedSelect(t: T, mask: T): T;
  maskedFill(t: T, mask: T, value: number): T;
  gather(t: T, dim: number, index: T): T;
  index(t: T, indices: (T | null)[]): T;
  cat(ts: T[], dim: number): T;
  stack(ts: T[], dim: number): T;
  chunk(t: T, chunks: number, dim: number): T[];
  constantPad(t: T, pad: number[], value: number): T;
  asStrided(t: T, shape: number[], strides: number[], offset: number): T;
  toDtype(t: T, dtype: string): T;
  toDevice(t: T, device: string, nonBlocking?: boolean): T;
  oneHot(t: T, numClasses: number): T;
  convolution(x: T, w: T, b: T | null, stride: number[], padding: number[], dilation: number[], transposed: boolean, outputPadding: number[], groups: number): T;
  instanceNorm(x: T, weight: T | null, bias: T | null, eps: number): T;
  leakyRelu(x: T, slope: number): T;
  leakyRelu_(x: T, slope: number): void;
  avgPool(x: T, kernel: number[], stride: number[], padding: number[], ceilMode: boolean, countIncludePad: boolean): T;
  softmax(x: T, dim: number): T;
  logSoftmax(x: T, dim: number): T;
  crossEntropy(x: T, target: T, weight: T | null, reduction: number, ignoreIndex: number, labelSmoothing: number): T;
  interpolate(x: T, size: Opt<number[]>, scale: Opt<number[]>, mode: string, alignCorners: Opt<boolean>): T;
  affineGrid(theta: T, size: number[], alignCorners: boolean): T;
  gridSample(x: T, grid: T, mode: number, padding: number, alignCorners: boolean): T;
  full(shape: number[], value: number, dtype: string, device?: string): T;
  empty(shape: number[], dtype: string, device?: string): T;
  arange(start: number, end: number, step: number, dtype: string, device?: string): T;
  linspace(start: number, end: number, steps: number, dtype: string, device?: string): T;
  rand(shape: number[], gen: NativeGenerator | null, dtype: string, device?: string): T;
  randn(shape: number[], gen: NativeGenerator | null, dtype: string, device?: string): T;
  randint(low: number, high: number, shape: number[], gen: NativeGenerator | null, dtype: string, device?: string): T;
  randperm(n: number, gen: NativeGenerator | null): T;
  normal_(t: T, mean: number, std: number, gen: NativeGenerator | null): void;
  uniform_(t: T, low: number, high: number, gen: NativeGenerator | null): void;
  multinomial(probs: T, n: number, replacement: boolean, gen: NativeGenerator | null): T;
  setRequiresGrad(t: T, value: boolean): void;
  backward(t: T, grad?: T | null): void;
  grad(t: T): T | null;
  setGrad(t: T, grad: T | null): void;
  setGradEnabled(enabled: boolean): void;
  isGradEnabled(): boolean;
  cudaIsAvailable(): boolean;
  cudaDeviceCount(): number;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  manualSeed(seed: number): void;
  mallocTrim(): void;
  autocastState(deviceType: 'cpu' | 'cuda'): [boolean, string];
  setAutocast(deviceType: 'cpu' | 'cuda', enabled: boolean, dtype: string): void;
  autocastIncrementNesting(): number;
  autocastDecrementNesting(): number;
  autocastClearCache(): void;
  /** [benchmark, deterministic] */
  cudnnFlags(): [boolean, boolean];
  setCudnnFlags(benchmark: boolean, deterministic: boolean): void;
}

/** Variables the engine set because the user had not. */
const engineDefaults: string[] = [];

function setDefaultEnv(name: string, value: string): void {
  if (process.env[name] !== undefined) return;
  process.env[name] = value;
  engineDefaults.push(name);
}

/** process.env without the variables the engine set for itself: for reference runs (PyTorch) in child processes. */
export function userEnvironment(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of engineDefaults) delete env[name];
  return env;
}

function load(): NativeBinding {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // Same relative location from src/torch (tsx) and dist/torch (compiled).
  const addon = path.resolve(here, '..', '..', 'native', 'build', 'Release', 'nnunet_torch.node');
  if (!existsSync(addon)) {
    throw new Error(`libtorch addon not built (${addon} missing): run \`bash scripts/setup.sh\` or \`npm run build\``);
  }
  // Several libtorch thread teams share the cores (the training step, data-loading and export workers): OpenMP's
  // default busy-waiting then starves them, with 10× slowdowns on 2 cores. libgomp reads this when the addon loads it.
  setDefaultEnv('OMP_WAIT_POLICY', 'PASSIVE');
  // OpenBLAS's own thread pool has a fork handler that can deadlock when any thread spawns a child process (tsx's
  // esbuild in a worker, a user's child_process call) while the pool exists. Convolutions run on oneDNN/OpenMP: the
  // Dataset004 3d_fullres training step took 7.58 s with one BLAS thread and 7.94 s with two (bench/training).
  // Both are read when the addon loads libgomp and libopenblas, so they only reach code in this process's main thread
  // (a worker's process.env is its own copy) and in child processes.
  setDefaultEnv('OPENBLAS_NUM_THREADS', '1');
  return createRequire(import.meta.url)(addon) as NativeBinding;
}

export const native: NativeBinding = load();

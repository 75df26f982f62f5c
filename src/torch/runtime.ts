// Process-wide engine settings: threads, CUDA availability, version.
import os from 'node:os';
import { native } from './native.js';

export const torchVersion: string = native.torchVersion;

export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`thread count must be a positive integer, got ${n}`);
  native.setNumThreads(n);
}
export function getNumThreads(): number {
  return native.getNumThreads();
}
/** The cores this process may use (cgroup/affinity aware where Node knows it). */
export function availableCores(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}
export function cudaIsAvailable(): boolean {
  return native.cudaIsAvailable();
}
export function cudaDeviceCount(): number {
  return native.cudaDeviceCount();
}
/** Checks a device name before any work starts, with a message that says what to do. */
export function assertDeviceAvailable(device: string): void {
  if (device === 'cpu') return;
  if (device.startsWith('cuda')) {
    if (!native.cudaIsAvailable()) {
      throw new Error(`device '${device}' requested but the linked libtorch (${torchVersion}) has no CUDA support or sees no GPU; rebuild with LIBTORCH=/path/to/a CUDA libtorch (e.g. a PyTorch 2.x install's torch/ folder) or use --device cpu`);
    }
    return;
  }
  throw new Error(`unknown device '${device}' (use cpu, cuda or cuda:N)`);
}

/**
 * Returns the allocator's free heap pages to the system (glibc malloc_trim). Tensor buffers served from the heap
 * instead of fresh mmaps avoid a page fault per touched page on every allocation, but their freed pages stay
 * resident and fragmented until trimmed: the training loop trims once per epoch.
 */
export function releaseFreeMemory(): void {
  native.mallocTrim();
}

export interface CudnnSettings {
  /** autotuned convolution algorithms per input shape (nnU-Net's default) */
  benchmark: boolean;
  deterministic: boolean;
}

/** The cuDNN flags in effect. TF32 is not among them: it stays at PyTorch's defaults (convolutions on, matmuls off). */
export function cudnnSettings(): CudnnSettings {
  const [benchmark, deterministic] = native.cudnnFlags();
  return { benchmark, deterministic };
}

/**
 * nnU-Net's cuDNN settings for work on `device`: benchmark on, not deterministic. `deterministic` asks for repeatable
 * GPU runs instead: deterministic algorithms, and no benchmarking, whose choice of algorithm can change between
 * runs. No effect on CPU work.
 */
export function configureCudnn(device: string, options: { deterministic?: boolean } = {}): void {
  if (device === 'cpu') return;
  const deterministic = options.deterministic ?? false;
  native.setCudnnFlags(!deterministic, deterministic);
}

// Intra-op threads default to the available cores (libtorch would otherwise guess from the machine, not the cgroup).
native.setNumThreads(Number(process.env.NNUNET_NUM_THREADS) || availableCores());

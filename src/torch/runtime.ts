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

// Intra-op threads default to the available cores (libtorch would otherwise guess from the machine, not the cgroup).
native.setNumThreads(Number(process.env.NNUNET_NUM_THREADS) || availableCores());

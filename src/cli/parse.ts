import type { Device } from '../torch/tensor.js';
// Option value parsers shared by the subcommands: each rejects bad input with a one-line message.
import { InvalidArgumentError } from 'commander';

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got '${value}'`);
  return n;
}
export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected a non-negative integer, got '${value}'`);
  return n;
}
export function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`expected a non-negative number, got '${value}'`);
  return n;
}
export function fold(value: string): number | 'all' {
  if (value === 'all') return 'all';
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`a fold is a non-negative integer or 'all', got '${value}'`);
  return n;
}
export function device(value: string): Device {
  if (!/^(cpu|cuda(:\d+)?)$/.test(value)) throw new InvalidArgumentError(`device must be cpu, cuda or cuda:N, got '${value}'`);
  return value as Device;
}
export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number, got '${value}'`);
  return n;
}
/** A fraction in (0, 1], such as the sliding-window step relative to the patch size. */
export function fraction(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 1) throw new InvalidArgumentError(`expected a number in (0, 1], got '${value}'`);
  return n;
}

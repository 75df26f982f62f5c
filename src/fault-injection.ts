// Documented test hooks that make faults happen on purpose, so that the guards against them are tested without
// real divergence, full disks or lucky timing. Each reads one environment variable; unset, each is a no-op.
//   NNUNET_TS_INJECT_NONFINITE=K[,K…]        the training losses of these global iterations (epoch × iterations + i,
//                                            0-based, on every rank) become NaN
//   NNUNET_TS_INJECT_WRITE_FAILURE=CODE:TEXT[:N]  the N-th (default 1st) atomic write of a file whose path contains TEXT
//                                            fails with the system error CODE (ENOSPC, EIO, …) halfway through
//   NNUNET_TS_KILL_AT=POINT[:N]              the process kills itself with SIGKILL the N-th time it reaches POINT:
//                                            `write:TEXT` (halfway through an atomic write of a path containing TEXT),
//                                            `validation` (an epoch's validation) or `final-validation`
import { UserError } from './errors.js';

function parseCount(value: string | undefined, variable: string): number {
  if (value === undefined || value === '') return 1;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`${variable}: the count must be a positive integer, got '${value}'`);
  return n;
}

export function injectedNonFiniteSteps(env: NodeJS.ProcessEnv = process.env): Set<number> {
  const value = env.NNUNET_TS_INJECT_NONFINITE?.trim();
  if (!value) return new Set();
  const steps = value.split(',').map((v) => Number(v.trim()));
  if (steps.some((k) => !Number.isInteger(k) || k < 0)) throw new UserError(`NNUNET_TS_INJECT_NONFINITE=${value}: expected comma-separated iteration indices (0, 1, ...)`);
  return new Set(steps);
}

const reached = new Map<string, number>();

/** Counts a visit to `key` and says whether this is the `target`-th one. */
function nth(key: string, target: number): boolean {
  const n = (reached.get(key) ?? 0) + 1;
  reached.set(key, n);
  return n === target;
}

/** Throws the injected write failure for `file`, if this write is the one the hook names. */
export function maybeFailWrite(file: string, env: NodeJS.ProcessEnv = process.env): void {
  const spec = env.NNUNET_TS_INJECT_WRITE_FAILURE;
  if (!spec) return;
  const [code, text, count] = spec.split(':');
  if (!code || !text) throw new UserError(`NNUNET_TS_INJECT_WRITE_FAILURE=${spec}: expected CODE:TEXT[:N]`);
  if (!file.includes(text) || !nth(`write-failure:${text}`, parseCount(count, 'NNUNET_TS_INJECT_WRITE_FAILURE'))) return;
  const error = new Error(`${code}: injected write failure, write '${file}'`) as NodeJS.ErrnoException;
  error.code = code;
  error.path = file;
  throw error;
}

/** SIGKILLs this process if `point` (e.g. `write:/fold_0/checkpoint_latest.pth`) is the one the hook names. */
export function maybeKillAt(point: string, env: NodeJS.ProcessEnv = process.env): void {
  const spec = env.NNUNET_TS_KILL_AT;
  if (!spec) return;
  const last = spec.lastIndexOf(':');
  const hasCount = last > 0 && /^\d+$/.test(spec.slice(last + 1));
  const target = hasCount ? spec.slice(0, last) : spec;
  const matches = target.startsWith('write:') ? point.startsWith('write:') && point.includes(target.slice('write:'.length)) : point === target;
  if (matches && nth(`kill:${target}`, parseCount(hasCount ? spec.slice(last + 1) : undefined, 'NNUNET_TS_KILL_AT'))) process.kill(process.pid, 'SIGKILL');
}

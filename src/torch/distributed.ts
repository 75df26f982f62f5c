// c10d through the addon (native/src/distributed.cc): a TCPStore rendezvous and a process group (gloo on CPU, NCCL on
// CUDA) whose collectives work in place on tensors and block until done or timed out. The rendezvous on top of the
// store checks what c10d leaves to the caller (every rank agrees on the world size, each rank joins once) so that a
// misconfigured launch fails with one line instead of a timeout. c10d's errors become DistributedError (a UserError:
// the CLI prints its message alone), classified by what the user can do about them.
import { UserError } from '../errors.js';
import { native, type NativeTensor } from './native.js';
import type { Tensor } from './tensor.js';

export type Backend = 'gloo' | 'nccl';

type Session = object;
interface DistributedBinding {
  hasGloo: boolean;
  hasNccl: boolean;
  connectStore(host: string, port: number, isServer: boolean, worldSize: number, timeoutMs: number): Session;
  storeSet(s: Session, key: string, value: string): void;
  storeGet(s: Session, key: string, timeoutMs: number): string;
  storeAdd(s: Session, key: string, delta: number): number;
  storeCheck(s: Session, key: string): boolean;
  initGroup(s: Session, backend: Backend, rank: number, worldSize: number, timeoutMs: number, glooHost: string | null): void;
  allreduceSum(s: Session, tensors: NativeTensor[], timeoutMs: number): void;
  broadcast(s: Session, tensors: NativeTensor[], root: number, timeoutMs: number): void;
  barrier(s: Session, timeoutMs: number): void;
  destroy(s: Session): void;
}

// distributed.cc registers its functions under `distributed`, apart from the tensor op table NativeBinding describes.
const binding = (native as unknown as { distributed: DistributedBinding }).distributed;

export function backendAvailable(backend: Backend): boolean {
  return backend === 'gloo' ? binding.hasGloo : binding.hasNccl;
}

export type DistributedFailure = 'port-in-use' | 'unreachable' | 'world-size' | 'join-timeout' | 'peer-lost' | 'timeout' | 'unavailable';

export class DistributedError extends UserError {
  constructor(
    readonly failure: DistributedFailure,
    message: string,
  ) {
    super(message);
    this.name = 'DistributedError';
  }
}

export interface ProcessGroupOptions {
  backend: Backend;
  masterAddr: string;
  masterPort: number;
  rank: number;
  worldSize: number;
  /** Limit of one collective, and of the whole rendezvous (every rank joined). */
  timeoutMs: number;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A failed collective: the peer is gone (its sockets closed) or did not answer in time. */
function collectiveError(op: string, err: unknown, timeoutMs: number): DistributedError {
  const m = messageOf(err);
  if (/timed? ?out/i.test(m)) return new DistributedError('timeout', `${op}: another rank did not answer within ${timeoutMs / 1000} s (c10d: ${m})`);
  return new DistributedError('peer-lost', `${op}: lost the connection to another rank, which probably failed (c10d: ${m})`);
}

export class ProcessGroup {
  private destroyed = false;

  private constructor(
    private readonly session: Session,
    readonly rank: number,
    readonly worldSize: number,
    readonly backend: Backend,
    readonly timeoutMs: number,
  ) {}

  /** Rendezvous on masterAddr:masterPort (rank 0 serves the store) and set up the backend. */
  static init(o: ProcessGroupOptions): ProcessGroup {
    const where = `${o.masterAddr}:${o.masterPort}`;
    if (!Number.isInteger(o.worldSize) || o.worldSize < 1) throw new DistributedError('world-size', `world size must be a positive integer, got ${o.worldSize}`);
    if (!Number.isInteger(o.rank) || o.rank < 0 || o.rank >= o.worldSize) throw new DistributedError('world-size', `rank ${o.rank} is outside the world of ${o.worldSize} ranks (RANK must be 0…WORLD_SIZE-1)`);
    if (!backendAvailable(o.backend)) {
      throw new DistributedError('unavailable', o.backend === 'nccl' ? `NCCL is not in this build (libtorch ${native.torchVersion}): multi-GPU training needs the addon built against a CUDA libtorch with NCCL (LIBTORCH=/path/to/torch, then npm run build)` : 'gloo is not in this build: install libgloo-dev (scripts/setup.sh) and rebuild the addon (npm run build)');
    }
    let session: Session;
    try {
      session = binding.connectStore(o.masterAddr, o.masterPort, o.rank === 0, o.worldSize, o.timeoutMs);
    } catch (err) {
      const m = messageOf(err);
      if (/in use/i.test(m)) throw new DistributedError('port-in-use', `port ${o.masterPort} is already in use on this machine: another training (or program) holds it; pass --master-port with a free port`);
      throw new DistributedError('unreachable', `could not reach the master at ${where} within ${o.timeoutMs / 1000} s: check --master-addr/--master-port (MASTER_ADDR/MASTER_PORT), that rank 0 runs and that the port is open (c10d: ${m})`);
    }
    try {
      rendezvous(session, o);
      const glooHost = LOOPBACK.has(o.masterAddr) ? '127.0.0.1' : null;
      binding.initGroup(session, o.backend, o.rank, o.worldSize, o.timeoutMs, glooHost);
    } catch (err) {
      binding.destroy(session);
      if (err instanceof DistributedError) throw err;
      throw new DistributedError('join-timeout', `setting up ${o.backend} between ${o.worldSize} ranks failed (c10d: ${messageOf(err)})`);
    }
    return new ProcessGroup(session, o.rank, o.worldSize, o.backend, o.timeoutMs);
  }

  private get live(): Session {
    if (this.destroyed) throw new Error('the process group was destroyed');
    return this.session;
  }

  /** Sums each tensor over ranks, in place. */
  allReduceSum_(tensors: readonly Tensor[]): void {
    try {
      binding.allreduceSum(this.live, tensors.map((t) => t.native), this.timeoutMs);
    } catch (err) {
      throw collectiveError('all-reduce', err, this.timeoutMs);
    }
  }

  /** Overwrites each tensor with rank `root`'s. */
  broadcast_(tensors: readonly Tensor[], root = 0): void {
    try {
      binding.broadcast(this.live, tensors.map((t) => t.native), root, this.timeoutMs);
    } catch (err) {
      throw collectiveError('broadcast', err, this.timeoutMs);
    }
  }

  barrier(): void {
    try {
      binding.barrier(this.live, this.timeoutMs);
    } catch (err) {
      throw collectiveError('barrier', err, this.timeoutMs);
    }
  }

  /** Waits for every rank (so that rank 0's store outlives the others' use of it), then frees the group. */
  destroy(): void {
    if (this.destroyed) return;
    try {
      this.barrier();
    } finally {
      this.destroyed = true;
      binding.destroy(this.session);
    }
  }
}

/** Every rank agrees with rank 0 on the world size, no rank joins twice, and all have joined before the backend starts. */
function rendezvous(session: Session, o: ProcessGroupOptions): void {
  const waitMs = o.timeoutMs;
  if (o.rank === 0) binding.storeSet(session, 'nnunet/world_size', String(o.worldSize));
  if (binding.storeAdd(session, `nnunet/rank/${o.rank}`, 1) > 1) throw new DistributedError('world-size', `two processes were started as rank ${o.rank}: check RANK / --node-rank on every node`);
  let served: string;
  try {
    served = binding.storeGet(session, 'nnunet/world_size', waitMs);
  } catch {
    throw new DistributedError('join-timeout', `rank 0 did not publish its world size within ${waitMs / 1000} s`);
  }
  if (Number(served) !== o.worldSize) {
    throw new DistributedError('world-size', `mismatched world size: this process (rank ${o.rank}) was started with WORLD_SIZE=${o.worldSize}, rank 0 with ${served}; start every node with the same --nnodes and ranks per node`);
  }
  // counted only once its world size matched, so that rank 0 does not start the backend with a rank that left
  binding.storeAdd(session, 'nnunet/joined', 1);
  const deadline = Date.now() + waitMs;
  for (;;) {
    const joined = binding.storeAdd(session, 'nnunet/joined', 0);
    if (joined > o.worldSize) throw new DistributedError('world-size', `mismatched world size: ${joined} processes joined a world of ${o.worldSize} ranks`);
    if (joined === o.worldSize) return;
    if (Date.now() > deadline) {
      throw new DistributedError('join-timeout', `only ${joined} of ${o.worldSize} ranks joined within ${waitMs / 1000} s: start every node (same --master-addr, --master-port, --nnodes) or check the world size`);
    }
    sleepSync(50);
  }
}

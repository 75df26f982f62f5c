// Data-parallel training over c10d (PyTorch's DistributedDataParallel, done by hand): every rank runs the same step on
// its share of the global batch, and after backward the gradients are averaged over ranks in ~25 MB buckets, one
// all-reduce each (DDP's default bucket size), so that every rank takes the same optimizer step. The Reducer is not
// used: its constructor differs between libtorch 1.13 and 2.x, and a bucket loop this small needs none of its
// overlap machinery in a synchronous step. Scalars (losses, tp/fp/fn, stop decisions) travel as small tensors.
import { type Device, type Tensor, cat, full, tensor, tidy, zeros } from '../../torch/index.js';
import type { ProcessGroup } from '../../torch/distributed.js';
import { type BatchShare, type Strategy, batchShareOf } from './strategy.js';

/** DDP's bucket_cap_mb default. */
export const DEFAULT_BUCKET_BYTES = 25 * 1024 * 1024;

const BYTES: Record<string, number> = { float32: 4, float64: 8, float16: 2, bfloat16: 2 };

/** Indices of consecutive tensors of one dtype and device, cut when a bucket reaches `bucketBytes`. */
export function planBuckets(params: readonly Tensor[], bucketBytes: number): number[][] {
  const buckets: number[][] = [];
  let current: number[] = [];
  let bytes = 0;
  params.forEach((p, i) => {
    const first = current.length ? params[current[0]] : null;
    if (first && (first.dtype !== p.dtype || first.device !== p.device || bytes >= bucketBytes)) {
      buckets.push(current);
      current = [];
      bytes = 0;
    }
    current.push(i);
    bytes += p.numel * (BYTES[p.dtype] ?? 4);
  });
  if (current.length) buckets.push(current);
  return buckets;
}

export class DistributedStrategy implements Strategy {
  readonly rank: number;
  readonly worldSize: number;
  readonly isMain: boolean;
  /** Seconds spent in gradient all-reduces (the bench reports their share of a step). */
  reduceSeconds = 0;

  constructor(
    private readonly group: ProcessGroup,
    private readonly device: Device = 'cpu',
    private readonly bucketBytes = DEFAULT_BUCKET_BYTES,
  ) {
    this.rank = group.rank;
    this.worldSize = group.worldSize;
    this.isMain = group.rank === 0;
  }

  batchShare(globalBatchSize: number): BatchShare {
    return batchShareOf(globalBatchSize, this.rank, this.worldSize);
  }

  broadcastParameters(params: readonly Tensor[]): void {
    this.group.broadcast_(params, 0);
  }

  reduceGradients(params: readonly Tensor[]): void {
    const started = performance.now();
    tidy(() => {
      // parameters without a gradient (a deep-supervision head of weight 0) stay without one, as in one process:
      // every rank runs the same graph, so the same ones have none everywhere and the buckets line up
      const grads = params.map((p) => p.grad).filter((g): g is Tensor => g !== null);
      for (const bucket of planBuckets(grads, this.bucketBytes)) {
        const members = bucket.map((i) => grads[i]);
        const flat = cat(members.map((g) => g.reshape([-1])));
        this.group.allReduceSum_([flat]);
        flat.div_(this.worldSize);
        let offset = 0;
        for (const g of members) {
          g.copy_(flat.slice(0, offset, offset + g.numel).reshape(g.shape));
          offset += g.numel;
        }
      }
    });
    this.reduceSeconds += (performance.now() - started) / 1000;
  }

  allReduceSum(values: readonly number[]): number[] {
    if (values.length === 0) return [];
    return tidy(() => {
      const t = tensor([...values], [values.length], 'float64').to(this.device);
      this.group.allReduceSum_([t]);
      return t.to('cpu').toArray();
    });
  }

  allReduceMean(values: readonly number[]): number[] {
    return this.allReduceSum(values).map((v) => v / this.worldSize);
  }

  /** JSON through two broadcasts: the byte length, then the bytes (the other ranks cannot know the length). */
  broadcast<T>(value: T): T {
    return tidy(() => {
      const bytes = this.isMain ? new TextEncoder().encode(JSON.stringify({ v: value })) : null;
      const length = full([1], bytes?.length ?? 0, 'int64').to(this.device);
      this.group.broadcast_([length], 0);
      const n = length.to('cpu').item();
      const data = (bytes ? tensor(bytes, [n], 'uint8') : zeros([n], 'uint8')).to(this.device);
      this.group.broadcast_([data], 0);
      const received = new Uint8Array(data.to('cpu').toTypedArray() as Uint8Array);
      return (JSON.parse(new TextDecoder().decode(received)) as { v: T }).v;
    });
  }

  barrier(): void {
    this.group.barrier();
  }

  sumWithGradient(t: Tensor): Tensor {
    const local = t.detach();
    const total = local.clone();
    this.group.allReduceSum_([total]);
    // value: the global sum; gradient: worldSize per element (world·t carries it, the constant corrects the value)
    return t.mul(this.worldSize).add(total.sub(local.mul(this.worldSize)));
  }

  async close(): Promise<void> {
    this.group.destroy();
  }
}

// Delivers batches in order from background worker threads, keeping a few in flight so the training step never waits
// (nnU-Net's NonDetMultiThreadedAugmenter, but deterministic: batch k is the same whichever worker makes it).
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../worker-thread.js';
import { type Batch, type BatchStreamConfig, BatchSource } from './batch-source.js';

export interface BatchLoaderOptions {
  /** 0 = make batches on the calling thread */
  numWorkers: number;
  /** batches requested ahead per worker */
  prefetchPerWorker?: number;
  /** index of the first batch to deliver (resume position) */
  startIndex?: number;
}

export class BatchLoader {
  private nextIndex: number;
  private requested: number;
  private readonly pending = new Map<number, { resolve: (b: Batch) => void; reject: (e: Error) => void; promise: Promise<Batch> }>();
  private readonly workers: Worker[] = [];
  private readonly local: BatchSource | null = null;
  private closed = false;
  /** seconds the consumer spent waiting for batches (data-wait time) */
  waitSeconds = 0;

  constructor(config: BatchStreamConfig, private readonly options: BatchLoaderOptions) {
    this.nextIndex = options.startIndex ?? 0;
    this.requested = this.nextIndex;
    if (options.numWorkers <= 0) {
      this.local = new BatchSource(config);
      return;
    }
    for (let i = 0; i < options.numWorkers; i++) {
      const w = startWorker(import.meta.url, 'batch-worker', { workerData: config });
      w.on('message', (msg: { batch?: Batch; index?: number; error?: string }) => {
        const index = msg.batch ? msg.batch.index : (msg.index as number);
        const slot = this.pending.get(index);
        if (!slot) return;
        if (msg.batch) slot.resolve(msg.batch);
        else slot.reject(new Error(`batch ${index}: ${msg.error}`));
      });
      w.on('error', (e) => {
        for (const slot of this.pending.values()) slot.reject(new Error(`a data-loading worker died: ${e.message}`));
      });
      // an exit without an error (e.g. killed) must not leave next() waiting forever
      w.on('exit', (code) => {
        if (this.closed) return;
        for (const slot of this.pending.values()) slot.reject(new Error(`a data-loading worker exited (code ${code})`));
      });
      this.workers.push(w);
    }
    this.fill();
  }

  private slot(index: number) {
    let resolve!: (b: Batch) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<Batch>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    promise.catch(() => undefined);
    const s = { resolve, reject, promise };
    this.pending.set(index, s);
    return s;
  }

  private fill(): void {
    const depth = this.workers.length * (this.options.prefetchPerWorker ?? 2);
    while (!this.closed && this.requested < this.nextIndex + depth) {
      const index = this.requested++;
      this.slot(index);
      this.workers[index % this.workers.length].postMessage(index);
    }
  }

  /** Index of the next batch next() returns (saved in checkpoints). */
  get position(): number {
    return this.nextIndex;
  }

  async next(): Promise<Batch> {
    const index = this.nextIndex++;
    const started = performance.now();
    try {
      if (this.local) return await this.local.makeBatch(index);
      const slot = this.pending.get(index) ?? this.slot(index);
      this.fill();
      const batch = await slot.promise;
      this.pending.delete(index);
      return batch;
    } finally {
      this.waitSeconds += (performance.now() - started) / 1000;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.local?.dispose();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

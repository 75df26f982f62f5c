// Worker-thread entry: builds batches for the main thread (see batch-loader.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { setNumThreads } from '../torch/index.js';
import { type BatchStreamConfig, BatchSource } from './batch-source.js';

// One intra-op thread per worker: the training step owns the cores.
setNumThreads(1);
const source = new BatchSource(workerData as BatchStreamConfig);
parentPort?.on('message', (index: number) => {
  source.makeBatch(index).then(
    (batch) => parentPort?.postMessage({ batch }, [batch.data.buffer as ArrayBuffer, ...batch.targets.map((t) => t.buffer as ArrayBuffer)]),
    (error: Error) => parentPort?.postMessage({ index, error: error.message }),
  );
});

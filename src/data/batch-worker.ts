// Worker-thread entry: builds batches for the main thread (see batch-loader.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { type BatchStreamConfig, BatchSource } from './batch-source.js';

// No setNumThreads here: libtorch's thread setting is partly process-wide (the BLAS pool), so changing it in a worker
// changes how the training step partitions its sums and breaks bit-exact resumption.
const source = new BatchSource(workerData as BatchStreamConfig);
parentPort?.on('message', (index: number) => {
  source.makeBatch(index).then(
    (batch) => parentPort?.postMessage({ batch }, [batch.data.buffer as ArrayBuffer, ...batch.targets.map((t) => t.buffer as ArrayBuffer)]),
    (error: Error) => parentPort?.postMessage({ index, error: error.message }),
  );
});

// Worker-thread entry: exports cases (resampling, argmax, file writing) while the main thread predicts the next one.
import { parentPort } from 'node:worker_threads';
import { setNumThreads } from '../torch/index.js';
import { type ExportJob, runExportJob } from './export-job.js';

// One intra-op thread: the sliding window on the main thread owns the cores.
setNumThreads(1);
parentPort?.on('message', (job: ExportJob) => {
  runExportJob(job).then(
    () => parentPort?.postMessage({ ok: true }),
    (error: Error) => parentPort?.postMessage({ ok: false, error: error.message, userError: error.name === 'UserError' }),
  );
});

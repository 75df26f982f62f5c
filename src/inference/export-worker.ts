// Worker-thread entry: exports cases (resampling, argmax, file writing) while the main thread predicts the next one.
import { parentPort } from 'node:worker_threads';
import { type ExportJob, runExportJob } from './export-job.js';

// No setNumThreads here: libtorch's thread setting is partly process-wide, so a worker changing it would change the
// main thread's numerics while it predicts.
parentPort?.on('message', (job: ExportJob) => {
  runExportJob(job).then(
    () => parentPort?.postMessage({ ok: true }),
    (error: Error) => parentPort?.postMessage({ ok: false, error: error.message, userError: error.name === 'UserError' }),
  );
});

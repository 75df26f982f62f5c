// Runs export jobs one at a time on a worker thread, so writing case i overlaps predicting case i+1 (nnU-Net uses
// export processes for the same reason). At most one job is in flight: memory stays bounded by two cases' logits.
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../worker-thread.js';
import { UserError } from '../errors.js';
import { type ExportJob, runExportJob } from './export-job.js';

export class BackgroundExporter {
  private readonly worker: Worker | null;
  private inFlight: Promise<void> = Promise.resolve();

  /** `background` false: jobs run on the calling thread when submitted (tests, single-case calls). */
  constructor(background: boolean) {
    if (!background) {
      this.worker = null;
      return;
    }
    this.worker = startWorker(import.meta.url, 'export-worker');
    this.worker.unref();
  }

  /** Waits for the previous job, then starts this one; resolves once it has started (not finished). */
  async submit(job: ExportJob): Promise<void> {
    await this.inFlight;
    const run = this.worker ? this.post(this.worker, job) : runExportJob(job);
    this.inFlight = run;
    run.catch(() => undefined);
    if (!this.worker) await run;
  }

  /** Waits for the job in flight (and rethrows its error). */
  async drain(): Promise<void> {
    await this.inFlight;
  }

  async close(): Promise<void> {
    try {
      await this.drain();
    } finally {
      await this.worker?.terminate();
    }
  }

  private post(worker: Worker, job: ExportJob): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      const onMessage = (msg: { ok: boolean; error?: string; userError?: boolean }) => {
        done();
        if (msg.ok) resolve();
        else reject(msg.userError ? new UserError(msg.error ?? '') : new Error(`exporting ${job.outputBase}: ${msg.error}`));
      };
      const onError = (error: Error) => {
        done();
        reject(new Error(`the export worker died while exporting ${job.outputBase}: ${error.message}`));
      };
      // a worker that exits without a message or an error must not leave the caller waiting forever
      const onExit = (code: number) => {
        done();
        reject(new Error(`the export worker exited (code ${code}) while exporting ${job.outputBase}`));
      };
      worker.once('message', onMessage);
      worker.once('error', onError);
      worker.once('exit', onExit);
      worker.ref();
      worker.postMessage(job, [job.logits.buffer as ArrayBuffer]);
    }).finally(() => worker.unref());
  }
}

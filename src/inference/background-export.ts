// Runs export jobs one at a time on a worker thread, so writing case i overlaps predicting case i+1 (nnU-Net uses
// export processes for the same reason). At most one job is in flight: memory stays bounded by two cases' logits.
import { Worker } from 'node:worker_threads';
import { UserError } from '../errors.js';
import { type ExportJob, runExportJob } from './export-job.js';

function startWorker(): Worker {
  const self = new URL(import.meta.url);
  if (!self.pathname.endsWith('.ts')) return new Worker(new URL('./export-worker.js', self));
  // Under tsx (tests, development) the entry is TypeScript, and Node 20 workers do not apply the parent's
  // `--import tsx` hooks to a .ts entry file: load it through tsx's API instead.
  const api = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./export-worker.ts', self).href;
  return new Worker(`import(${JSON.stringify(api)}).then((tsx) => tsx.tsImport(${JSON.stringify(entry)}, ${JSON.stringify(self.href)}))`, { eval: true });
}

export class BackgroundExporter {
  private readonly worker: Worker | null;
  private inFlight: Promise<void> = Promise.resolve();

  /** `background` false: jobs run on the calling thread when submitted (tests, single-case calls). */
  constructor(background: boolean) {
    if (!background) {
      this.worker = null;
      return;
    }
    this.worker = startWorker();
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
      const onMessage = (msg: { ok: boolean; error?: string; userError?: boolean }) => {
        worker.off('error', onError);
        if (msg.ok) resolve();
        else reject(msg.userError ? new UserError(msg.error ?? '') : new Error(`exporting ${job.outputBase}: ${msg.error}`));
      };
      const onError = (error: Error) => {
        worker.off('message', onMessage);
        reject(new Error(`the export worker died while exporting ${job.outputBase}: ${error.message}`));
      };
      worker.once('message', onMessage);
      worker.once('error', onError);
      worker.ref();
      worker.postMessage(job, [job.logits.buffer as ArrayBuffer]);
    }).finally(() => worker.unref());
  }
}

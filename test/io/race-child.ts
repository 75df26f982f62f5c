// Several processes racing on one folder, for the lock and splits tests. Run as a program, this file is one racer: it
// prints `ready`, waits for `go` on stdin (so that all racers start within a millisecond), runs its job, prints one
// JSON line with the outcome, and exits (with process.exit, keeping any lock until then) when its stdin ends.
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export type RaceJob = { kind: 'lock'; folders: string[] } | { kind: 'splits'; folder: string; identifiers: string[] };

/** Per folder of a lock job: whether this racer took the lock, the warnings it got, and the refusal if any. */
export interface LockOutcome {
  won: boolean;
  warnings: string[];
  error?: string;
}

export class RaceChild {
  readonly process: ChildProcess;
  readonly ready: Promise<void>;
  /** The job's outcome: LockOutcome[] (one per folder) for a lock job, the splits for a splits job. */
  readonly result: Promise<unknown>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private stderr = '';

  constructor(job: RaceJob) {
    this.process = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), JSON.stringify(job)], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.process.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => this.process.once('exit', (code, signal) => resolve({ code, signal })));
    const lines: string[] = [];
    const waiters: ((line: string) => void)[] = [];
    let buffer = '';
    this.process.stdout?.on('data', (d: Buffer) => {
      buffer += d.toString();
      for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        const waiter = waiters.shift();
        if (waiter) waiter(line);
        else lines.push(line);
      }
    });
    const nextLine = () =>
      Promise.race([
        new Promise<string>((resolve) => (lines.length ? resolve(lines.shift() as string) : waiters.push(resolve))),
        this.exited.then(({ code, signal }) => {
          throw new Error(`race child exited early (code ${code}, signal ${signal}):\n${this.stderr}`);
        }),
      ]);
    this.ready = nextLine().then((line) => {
      if (line !== 'ready') throw new Error(`race child said ${line}`);
    });
    this.result = this.ready.then(nextLine).then((line) => JSON.parse(line) as unknown);
  }

  get pid(): number {
    return this.process.pid as number;
  }

  go(): void {
    this.process.stdin?.write('go\n');
  }

  /** Ends its stdin; it exits without releasing its locks by hand (the 'exit' handler must). */
  finish(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.process.stdin?.end();
    return this.exited;
  }
}

/** Starts one racer per job, waits until all are ready, then lets them go at once. */
export async function race(jobs: RaceJob[]): Promise<RaceChild[]> {
  const children = jobs.map((job) => new RaceChild(job));
  await Promise.all(children.map((c) => c.ready));
  for (const c of children) c.go();
  return children;
}

async function runJob(job: RaceJob): Promise<unknown> {
  if (job.kind === 'splits') {
    const { loadOrCreateSplits } = await import('../../src/data/splits.js');
    return loadOrCreateSplits(job.folder, job.identifiers);
  }
  const { acquireFolderLock } = await import('../../src/io/folder-lock.js');
  const outcomes: LockOutcome[] = [];
  for (const folder of job.folders) {
    const warnings: string[] = [];
    try {
      await acquireFolderLock(folder, { command: 'nnunet test-child', onWarning: (m) => warnings.push(m) });
      outcomes.push({ won: true, warnings });
    } catch (error) {
      const e = error as Error;
      outcomes.push({ won: false, warnings, error: e.name === 'UserError' ? e.message : `unexpected: ${e.stack}` });
    }
  }
  return outcomes;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const job = JSON.parse(process.argv[2]) as RaceJob;
  // load the modules before saying ready, so the race is not decided by import time
  await import('../../src/data/splits.js');
  const stdinEnded = new Promise<void>((resolve) => process.stdin.on('end', resolve));
  const go = new Promise<void>((resolve) => process.stdin.on('data', () => resolve()));
  console.log('ready');
  await go;
  console.log(JSON.stringify(await runJob(job)));
  await stdinEnded;
  process.exit(0);
}

// Starts a worker thread from a sibling module, in compiled builds (.js) and from source under tsx (.ts) alike.
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** `entry` is the worker module's name without extension, next to `callerUrl` (pass import.meta.url). */
export function startWorker(callerUrl: string, entry: string, options: WorkerOptions = {}): Worker {
  if (!callerUrl.endsWith('.ts')) return new Worker(new URL(`./${entry}.js`, callerUrl), options);
  // From source: Node 20 does not apply `--import tsx` to a .ts worker entry, so the worker registers tsx's loader
  // itself before importing the entry.
  const url = new URL(`./${entry}.ts`, callerUrl).href;
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(url)}); })`;
  return new Worker(boot, { ...options, eval: true, execArgv: [] });
}

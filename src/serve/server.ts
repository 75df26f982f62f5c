// `nnunet serve`: a local web app on hono (the runs page, the segment page and their JSON API). It reads the
// results folder and the export folders and writes nothing; images to segment never reach it (the browser
// segments them). Loopback only by default; every file it hands out is checked by resolveInside.
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { UserError } from '../errors.js';
import { findModels, summaryOf } from './models.js';
import type { RunSummary } from './api-types.js';
import { RunsIndex } from './runs.js';
import { resolveInside } from './safe-path.js';

export interface ServeOptions {
  /** nnUNet_results: its trainings and the exports below it; null when not set (only --models then). */
  resultsFolder: string | null;
  /** --models folders. */
  modelFolders: readonly string[];
  /** The bundled pages (scripts/build-web.js output). Default: dist/web of this package. */
  webFolder?: string;
  /** How often the results folder is polled for live updates (ms). Default 1000. */
  pollMs?: number;
  /** The address the server listens on; requests must name it (or a loopback name) as their Host. */
  host?: string;
}

export const DEFAULT_WEB_FOLDER = fileURLToPath(new URL('../../dist/web/', import.meta.url));

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

export function isLoopback(host: string): boolean {
  return LOOPBACK_NAMES.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

function mimeOf(file: string): string {
  const ext = /\.[a-z0-9]+$/i.exec(file)?.[0].toLowerCase() ?? '';
  return MIME[ext] ?? 'application/octet-stream';
}

// cross-origin isolation: onnxruntime-web's wasm threads need SharedArrayBuffer
const SECURITY_HEADERS: Record<string, string> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; worker-src 'self' blob:; connect-src 'self' blob: data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
};

/**
 * The path after `marker` (the first one after `skip` characters) as the client sent it: still percent-encoded
 * (resolveInside decodes it once), with plain `.`/`..` segments already resolved by the URL parser.
 */
function rest(c: Context, marker: string, skip = 0): string {
  const pathname = new URL(c.req.url).pathname;
  return pathname.slice(pathname.indexOf(marker, skip) + marker.length);
}

async function sendFile(c: Context, root: string, relative: string): Promise<Response> {
  const file = await resolveInside(root, relative);
  if (typeof file !== 'string') return c.json({ error: file.refused === 'missing' ? 'not found' : 'refused: outside the served folders' }, file.refused === 'missing' ? 404 : 403);
  return new Response(await readFile(file), { headers: { 'Content-Type': mimeOf(file), 'Cache-Control': 'no-cache' } });
}

/** Polls the runs once for all SSE clients and tells them when the list changed. */
class RunsWatcher {
  private readonly listeners = new Set<(runs: RunSummary[]) => void>();
  private timer: NodeJS.Timeout | null = null;
  private last = '';
  private latest: RunSummary[] = [];

  constructor(private readonly index: RunsIndex | null, private readonly pollMs: number) {}

  async subscribe(listener: (runs: RunSummary[]) => void): Promise<() => void> {
    if (this.listeners.size === 0) {
      this.last = '';
      await this.poll();
      this.timer = setInterval(() => void this.poll(), this.pollMs);
    }
    this.listeners.add(listener);
    listener(this.latest);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = null;
      }
    };
  }

  private async poll(): Promise<void> {
    const runs = (await this.index?.list().catch(() => null)) ?? [];
    const text = JSON.stringify(runs);
    if (text === this.last) return;
    this.last = text;
    this.latest = runs;
    for (const l of this.listeners) l(runs);
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.listeners.clear();
  }
}

export interface ServeApp {
  app: Hono;
  close(): void;
}

export function createServeApp(options: ServeOptions): ServeApp {
  const web = options.webFolder ?? DEFAULT_WEB_FOLDER;
  const index = options.resultsFolder ? new RunsIndex(options.resultsFolder) : null;
  const roots = [...(options.resultsFolder ? [options.resultsFolder] : []), ...options.modelFolders];
  const watcher = new RunsWatcher(index, options.pollMs ?? 1000);
  const allowedHosts = new Set([...LOOPBACK_NAMES, ...(options.host ? [options.host] : [])]);
  const anyHost = options.host === '0.0.0.0' || options.host === '::';
  const app = new Hono();

  app.use(async (c, next) => {
    // a page on another site must not reach this server through a DNS name rebound to 127.0.0.1
    const host = (c.req.header('host') ?? '').replace(/:\d+$/, '');
    if (!anyHost && !allowedHosts.has(host)) return c.text(`refused: unexpected Host ${host}`, 403);
    await next();
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(k, v);
  });

  const page = (name: string) => async (c: Context) => {
    const file = await resolveInside(web, name);
    if (typeof file !== 'string') return c.text(`the web app is not built (${web}${name} missing): run \`npm run build\``, 500);
    return c.html(await readFile(file, 'utf8'));
  };
  app.get('/', page('runs.html'));
  app.get('/segment', page('segment.html'));
  app.get('/assets/*', (c) => sendFile(c, path.join(web, 'assets'), rest(c, '/assets/')));

  app.get('/api/runs', async (c) => c.json((await index?.list()) ?? []));
  app.get('/api/runs/:id', async (c) => {
    const run = await index?.find(c.req.param('id'));
    return run ? c.json(await run.detail()) : c.json({ error: 'no such run' }, 404);
  });
  app.get('/api/runs/:id/files/*', async (c) => {
    const run = await index?.find(c.req.param('id'));
    return run ? sendFile(c, run.folder, rest(c, '/files/', '/api/runs/'.length)) : c.json({ error: 'no such run' }, 404);
  });
  app.get('/api/events', (c) =>
    streamSSE(c, async (stream) => {
      const unsubscribe = await watcher.subscribe((runs) => void stream.writeSSE({ event: 'runs', data: JSON.stringify(runs) }));
      await new Promise<void>((resolve) => stream.onAbort(resolve));
      unsubscribe();
    }),
  );

  app.get('/api/models', async (c) => c.json((await findModels(roots)).map(summaryOf)));
  app.get('/api/models/:id/files/*', async (c) => {
    const model = (await findModels(roots)).find((m) => m.id === c.req.param('id'));
    return model ? sendFile(c, model.folder, rest(c, '/files/', '/api/models/'.length)) : c.json({ error: 'no such model' }, 404);
  });

  return { app, close: () => watcher.close() };
}

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Starts the server; a non-loopback host is allowed, with a warning (`warn`), as the app has no authentication. */
export async function startServer(options: ServeOptions & { port: number; host: string; warn?: (message: string) => void }): Promise<RunningServer> {
  const warn = options.warn ?? ((m: string) => console.warn(m));
  if (!isLoopback(options.host)) {
    warn(`nnunet serve: listening on ${options.host}, which is not a loopback address: anyone who can reach this machine can read your trainings and exported models (there is no authentication)`);
  }
  const { app, close } = createServeApp(options);
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: options.port, hostname: options.host }, () => resolve(s));
    s.once('error', (err: NodeJS.ErrnoException) => {
      close();
      if (err.code === 'EADDRINUSE') reject(new UserError(`${options.host}:${options.port} is in use: stop what listens there or pick another --port`));
      else if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') reject(new UserError(`--host ${options.host}: not an address of this machine`));
      else reject(err);
    });
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${shownHost}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        close();
        if ('closeAllConnections' in server) server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Seconds per case of the segment page (onnxruntime-web on wasm in headless Chromium, the portable pipeline in the
 * page) on one Dataset004_Hippocampus case, against `predict --backend onnx` in Node (onnxruntime-node, the same
 * portable pipeline) on the same case, export and thread count. The export is bench/deploy/onnx-backend.bench.ts's
 * (Dataset004 3d_fullres plans, random weights: timing does not depend on them); it is made first if missing.
 * Runs alternate browser, Node, browser, Node; the first browser run also starts the session (reported apart, not
 * timed); the best round of each is reported.
 * usage: node --import tsx bench/web/browser-segment.bench.ts [--rounds 2] [--threads N (default: onnxruntime-web's choice)]
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { predictOnnxCases } from '../../src/deploy/predict-onnx.js';
import { readNifti } from '../../src/io/nifti.js';
import type { ModelSummary } from '../../src/serve/api-types.js';
import { startServer } from '../../src/serve/server.js';
import { linkOrCopy } from '../../test/link-or-copy.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SOURCE = path.resolve(repo, '../shared/data/Dataset004_Hippocampus');
const exportDir = path.join(repo, 'bench/out/deploy/export');
const out = path.join(repo, 'bench/out/web');
const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '2' }, threads: { type: 'string' }, chromium: { type: 'string', default: '/usr/bin/chromium' } } });
const rounds = Number(args.rounds);

function run(argv: string[]): void {
  const r = spawnSync(process.execPath, argv, { cwd: repo, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (exit ${r.status})`);
}

async function main(): Promise<void> {
  if (!existsSync(path.join(exportDir, 'model.json'))) run(['--import', 'tsx', 'bench/deploy/onnx-backend.bench.ts', '--cases', '1', '--rounds', '1']);
  await rm(out, { recursive: true, force: true });
  const input = path.join(out, 'input');
  await mkdir(input, { recursive: true });
  const image = (await readdir(path.join(SOURCE, 'imagesTr'))).filter((f) => f.endsWith('_0000.nii.gz')).sort()[0];
  await linkOrCopy(path.join(SOURCE, 'imagesTr', image), path.join(input, image));
  run([path.join(repo, 'scripts/build-web.js'), path.join(out, 'bundle')]);
  const server = await startServer({ resultsFolder: null, modelFolders: [exportDir], port: 0, host: '127.0.0.1', webFolder: path.join(out, 'bundle') });
  // without WebGL: the viewer stays out of the timing (software WebGL would share the 2 cores)
  const browser = await chromium.launch({ executablePath: args.chromium, args: ['--disable-3d-apis'] });
  try {
    const [model] = (await (await fetch(`${server.url}/api/models`)).json()) as ModelSummary[];
    const page = await browser.newPage();
    await page.goto(`${server.url}/segment${args.threads ? `?threads=${args.threads}` : ''}`);
    await page.locator(`[data-testid="model-select"] option[value="${model.id}"]`).waitFor({ state: 'attached' });
    await page.selectOption('[data-testid="model-select"]', model.id);
    await page.setInputFiles('[data-testid="volume-input"]', path.join(input, image));
    const runtime = page.locator('[data-testid="runtime"]');
    const browserTimes: number[] = [];
    const nodeTimes: number[] = [];
    let loadSeconds = 0;
    let threads = 0;
    for (let r = 0; r < rounds + 1; r++) {
      await page.click('[data-testid="segment-button"]');
      await page.locator('[data-testid="status"]').filter({ hasText: /^(done|error: .*)$/ }).waitFor({ timeout: 600_000 });
      const status = await page.locator('[data-testid="status"]').textContent();
      if (status !== 'done') throw new Error(`the page says ${status}`);
      const seconds = Number(await runtime.getAttribute('data-segment-seconds'));
      if (r === 0) loadSeconds = Number(await runtime.getAttribute('data-load-seconds'));
      else browserTimes.push(seconds);
      threads = Number(await runtime.getAttribute('data-threads'));
      if (r === 0) continue; // the first browser run warms up wasm and the session
      const nodeOut = path.join(out, 'pred-node');
      await rm(nodeOut, { recursive: true, force: true });
      const t0 = performance.now();
      await predictOnnxCases({ inputFolder: input, outputFolder: nodeOut, exportFolder: exportDir, threads });
      nodeTimes.push((performance.now() - t0) / 1000);
      console.log(`round ${r}: browser ${seconds.toFixed(3)} s, node ${nodeTimes.at(-1)!.toFixed(3)} s`);
    }
    // the download link's bytes (a blob: URL of the page)
    const bytes = await page.evaluate(async () => Array.from(new Uint8Array(await (await fetch((document.querySelector('[data-testid="segmentation-download"]') as HTMLAnchorElement).href)).arrayBuffer())));
    const fromBrowser = path.join(out, 'browser.nii.gz');
    await writeFile(fromBrowser, Uint8Array.from(bytes));
    const [a, b] = await Promise.all([readNifti(path.join(out, 'pred-node', image.replace('_0000.nii.gz', '.nii.gz'))), readNifti(fromBrowser)]);
    let same = 0;
    for (let i = 0; i < a.data.length; i++) if (a.data[i] === b.data[i]) same++;
    const info = await page.evaluate(() => ({ cores: navigator.hardwareConcurrency, isolated: crossOriginIsolated, ua: navigator.userAgent }));
    // the fastest round of each: on a shared machine the slow rounds measure the neighbours
    const [bt, nt] = [Math.min(...browserTimes), Math.min(...nodeTimes)];
    console.log(`Dataset004 3d_fullres export (random weights), case ${image} [${a.shape.join(', ')}], TTA on, step 0.5, ${rounds} round(s)`);
    console.log(`headless Chromium ${info.ua.match(/Chrome\/(\S+)/)?.[1] ?? '?'}: onnxruntime-web wasm, ${threads} thread(s) (navigator.hardwareConcurrency ${info.cores}, crossOriginIsolated ${info.isolated})`);
    console.log(`browser segment page:   ${bt.toFixed(3)} s/case, best of ${rounds} (model download + session start before the first case: ${loadSeconds.toFixed(3)} s)`);
    console.log(`predict --backend onnx: ${nt.toFixed(3)} s/case in Node, ${threads} thread(s), best of ${rounds}   (browser / node = ${(bt / nt).toFixed(2)})`);
    console.log(`label agreement browser vs Node: ${((100 * same) / a.data.length).toFixed(4)}% of ${a.data.length} voxels`);
  } finally {
    await browser.close();
    await server.close();
  }
}

await main();

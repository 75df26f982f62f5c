// The segment page in a real browser: a generated case is segmented with an exported model by onnxruntime-web on
// wasm, and the downloaded label map equals what `nnunet predict --backend onnx` writes for it in Node.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { exportOnnx } from '../../src/deploy/export-onnx.js';
import { readNifti } from '../../src/io/nifti.js';
import type { ModelSummary } from '../../src/serve/api-types.js';
import { type RunningServer, startServer } from '../../src/serve/server.js';
import { outputOf, runCli } from '../cli/cli-process.js';
import { writeCase, writeTinyModel } from '../inference/model-fixture.js';
import { browserSkipReason, buildWeb, launchBrowser, saveScreenshot } from './browser.js';

const skip = browserSkipReason();
if (skip) console.log(`# skipped: ${skip}`);

let root: string;
let browser: Browser;
let server: RunningServer;
let exportDir: string;
let inputDir: string;
let secondChannel: string;

before(async () => {
  if (skip) return;
  root = await mkdtemp(path.join(tmpdir(), 'nnunet-segment-page-'));
  const modelDir = path.join(root, 'results', 'Dataset999_Tiny', 'nnUNetTrainer__nnUNetPlans__3d_fullres');
  await writeTinyModel(modelDir, [0]);
  exportDir = path.join(modelDir, 'onnx_fold0');
  await exportOnnx({ modelFolder: modelDir, outputFolder: exportDir });
  inputDir = path.join(root, 'input');
  // larger than the 16³ patch on two axes: several tiles; the nonzero box makes export uncrop
  await writeCase(inputDir, 'case7', [14, 30, 21], [[1, 13], [2, 28], [1, 20]], 3);
  // a second channel file, outside the input folder (the Node reference takes the folder)
  secondChannel = path.join(root, 'second', 'case7_0001.nii.gz');
  await rename(await writeCase(path.join(root, 'second'), 'case7', [14, 30, 21], null, 4), secondChannel);
  server = await startServer({ resultsFolder: path.join(root, 'results'), modelFolders: [], port: 0, host: '127.0.0.1', webFolder: buildWeb(path.join(root, 'web')) });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

test('segment page: upload a case, wait for done; the download equals predict --backend onnx', { skip: skip ?? false, timeout: 120_000 }, async (t) => {
  const models = (await (await fetch(`${server.url}/api/models`)).json()) as ModelSummary[];
  assert.equal(models.length, 1);
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 }, acceptDownloads: true });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const requests: string[] = [];
  page.on('request', (r) => requests.push(`${r.method()} ${new URL(r.url()).pathname}`));
  await page.goto(`${server.url}/segment`);
  await page.locator(`[data-testid="model-select"] option[value="${models[0].id}"]`).waitFor({ state: 'attached' });
  await page.selectOption('[data-testid="model-select"]', models[0].id);
  await page.setInputFiles('[data-testid="volume-input"]', path.join(inputDir, 'case7_0000.nii.gz'));
  await page.click('[data-testid="segment-button"]');
  const status = page.locator('[data-testid="status"]');
  await status.filter({ hasText: /^(done|error: .*)$/ }).waitFor({ timeout: 90_000 });
  assert.equal(await status.textContent(), 'done');
  const runtime = (await page.locator('[data-testid="runtime"]').textContent()) ?? '';
  t.diagnostic(`runtime: ${runtime}`);
  assert.match(runtime, /wasm/);
  const link = page.locator('[data-testid="segmentation-download"]');
  assert.equal(await link.getAttribute('download'), 'case7.nii.gz');
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  assert.equal(download.suggestedFilename(), 'case7.nii.gz');
  const fromBrowser = path.join(root, 'browser', 'case7.nii.gz');
  mkdirSync(path.dirname(fromBrowser), { recursive: true });
  await download.saveAs(fromBrowser);
  await saveScreenshot(page, 'segment.png');
  assert.deepEqual(errors, []);
  // no image went to the server: only GETs of the page, its assets and the model
  assert.deepEqual(requests.filter((r) => !r.startsWith('GET ') && !r.startsWith('GET blob:')), []);
  assert.ok(requests.includes(`GET /api/models/${models[0].id}/files/model.onnx`), requests.join('\n'));
  // a second file for a one-channel model is refused with a message
  await page.setInputFiles('[data-testid="volume-input"]', [path.join(inputDir, 'case7_0000.nii.gz'), secondChannel]);
  await page.click('[data-testid="segment-button"]');
  await status.filter({ hasText: /^error: / }).waitFor({ timeout: 10_000 });
  assert.match((await status.textContent()) ?? '', /takes 1 channel file\(s\) \(MRI\); 2 chosen/);

  const nodeOut = path.join(root, 'node');
  const r = await runCli(['predict', '--backend', 'onnx', '-m', exportDir, '-i', inputDir, '-o', nodeOut], { timeoutMs: 90_000 });
  assert.equal(r.code, 0, outputOf(r));
  const [a, b] = await Promise.all([readNifti(path.join(nodeOut, 'case7.nii.gz')), readNifti(fromBrowser)]);
  assert.deepEqual(b.shape, a.shape);
  assert.deepEqual(b.affine, a.affine);
  assert.equal(b.header.datatype, a.header.datatype);
  let same = 0;
  for (let i = 0; i < a.data.length; i++) if (a.data[i] === b.data[i]) same++;
  t.diagnostic(`browser vs predict --backend onnx: ${same}/${a.data.length} voxels agree`);
  assert.ok(new Set(a.data).size > 1, 'the reference segmentation is not constant');
  assert.ok(same / a.data.length >= 0.999, `labels agree on ${same}/${a.data.length} voxels`);
});

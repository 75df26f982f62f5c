// The runs page in a real browser: a training's epochs appear in its run-epochs cell as the trainer logs them.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { acquireFolderLock, type FolderLock } from '../../src/io/folder-lock.js';
import { type RunningServer, startServer } from '../../src/serve/server.js';
import { browserSkipReason, buildWeb, launchBrowser, saveScreenshot } from './browser.js';
import { foldDir, logEpoch, tempResults, trainingLog, writeCheckpoint } from './run-fixture.js';

const skip = browserSkipReason();
if (skip) console.log(`# skipped: ${skip}`);

let browser: Browser;
let server: RunningServer;
let results: string;
let lock: FolderLock;
let web: string;

before(async () => {
  if (skip) return;
  results = tempResults();
  web = tempResults();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.close();
  lock?.release();
  for (const d of [results, web]) if (d) rmSync(d, { recursive: true, force: true });
});

const epoch = (e: number) => ({ lr: 0.01 * (1 - e / 20) ** 0.9, trainLoss: -0.2 - 0.05 * e, valLoss: -0.25 - 0.04 * e, dice: [0.4 + 0.03 * e, 0.3 + 0.04 * e], seconds: 3 + 0.1 * e });

test('the runs page shows a live training\'s epochs as they come', { skip: skip ?? false }, async () => {
  const finished = foldDir(results, 'Dataset004_Hippocampus', 'nnUNetTrainer__nnUNetPlans__3d_fullres', 'fold_1');
  const done = trainingLog(finished);
  for (let e = 0; e < 12; e++) logEpoch(done, e, epoch(e));
  await writeCheckpoint(path.join(finished, 'checkpoint_final.pth'), 12, 0.5);
  const live = foldDir(results, 'Dataset004_Hippocampus', 'nnUNetTrainer__nnUNetPlans__3d_fullres', 'fold_0');
  lock = await acquireFolderLock(live, { command: 'nnunet train' });
  const log = trainingLog(live);
  for (let e = 0; e < 3; e++) logEpoch(log, e, epoch(e));
  server = await startServer({ resultsFolder: results, modelFolders: [], port: 0, host: '127.0.0.1', pollMs: 200, webFolder: buildWeb(path.join(web, 'web')) });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${server.url}/?run=${encodeURIComponent('Dataset004_Hippocampus--nnUNetTrainer__nnUNetPlans__3d_fullres--fold_0')}`);
  const liveRow = page.locator('[data-testid="run-row"]', { has: page.locator('[data-testid="run-fold"]', { hasText: /^0$/ }) });
  const epochsCell = liveRow.locator('[data-testid="run-epochs"]');
  await epochsCell.filter({ hasText: /^3$/ }).waitFor({ timeout: 10_000 });
  assert.equal(await page.locator('[data-testid="run-row"]').count(), 2);
  assert.match((await liveRow.locator('[data-testid="run-state"]').textContent()) ?? '', /running/);
  // each epoch the trainer logs shows up without a reload
  for (let e = 3; e < 6; e++) {
    logEpoch(log, e, epoch(e));
    await epochsCell.filter({ hasText: new RegExp(`^${e + 1}$`) }).waitFor({ timeout: 10_000 });
  }
  // the charts were redrawn for the new epochs (Chart.js draws on canvases)
  await page.waitForFunction(() => document.querySelectorAll('.chart canvas').length === 4);
  await page.waitForTimeout(300);
  await saveScreenshot(page, 'runs.png');
  lock.release();
  await liveRow.locator('[data-testid="run-state"]').filter({ hasText: 'interrupted' }).waitFor({ timeout: 10_000 });
  assert.deepEqual(errors, []);
});

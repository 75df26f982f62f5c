// The server's JSON API and its refusals, over plain HTTP: runs and their states from folders written as the
// trainer writes them, live updates over SSE, exported models, and path traversal in every form.
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { acquireFolderLock } from '../../src/io/folder-lock.js';
import type { ModelSummary, RunDetail, RunSummary } from '../../src/serve/api-types.js';
import { serveCommand } from '../../src/cli/commands/serve.js';
import { type RunningServer, startServer } from '../../src/serve/server.js';
import { foldDir, logEpoch, tempResults, toyModelJson, trainingLog, writeCheckpoint, writeFileIn } from './run-fixture.js';

/** GET with the path sent exactly as given (no client-side normalization), and optional Host. */
function rawGet(base: string, rawPath: string, host?: string): Promise<{ status: number; body: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path: rawPath, method: 'GET', headers: host ? { host } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const SECRET = 'top-secret-outside-the-served-folders';

describe('nnunet serve API', () => {
  let results: string;
  let models: string;
  let outside: string;
  let server: RunningServer;
  const epochs = [
    { lr: 0.01, trainLoss: -0.1, valLoss: -0.2, dice: [0.5, 0.3], seconds: 2 },
    { lr: 0.0091, trainLoss: -0.3, valLoss: -0.35, dice: [0.7, 0.5], seconds: 2.5 },
  ];

  before(async () => {
    results = tempResults();
    models = tempResults();
    outside = tempResults();
    writeFileSync(path.join(outside, 'secret.txt'), SECRET);
    writeFileIn(outside, 'model.json', toyModelJson(0));
    writeFileIn(outside, 'model.onnx', SECRET);
    // a finished run with a checkpoint holding early-stopping state
    const finished = foldDir(results, 'Dataset999_Toy', 'nnUNetTrainer__nnUNetPlans__3d_fullres', 'fold_0');
    const log = trainingLog(finished);
    log.print('Early stopping on ema_fg_dice: patience 5, min delta 0, anneal 0 epochs');
    logEpoch(log, 0, epochs[0], 0.4);
    logEpoch(log, 1, epochs[1], 0.42);
    log.print('Training done after 2 epochs. Best EMA pseudo Dice 0.4200 at epoch 1');
    await writeCheckpoint(path.join(finished, 'checkpoint_final.pth'), 2, 0.42, { metric: 'ema_fg_dice', counter: 0, bestValue: 0.42, bestEpoch: 1, lastEpoch: 1, triggerEpoch: null, annealing: false, annealStartEpoch: null, annealStartLr: null, stopped: false });
    // an export under the results folder (two folds) and one in --models (one fold)
    const exp = path.join(results, 'Dataset999_Toy', 'nnUNetTrainer__nnUNetPlans__3d_fullres', 'onnx');
    for (const f of [0, 1]) {
      writeFileIn(exp, `fold_${f}/model.json`, toyModelJson(f));
      writeFileIn(exp, `fold_${f}/model.onnx`, `onnx-bytes-${f}`);
    }
    writeFileIn(models, 'mine/model.json', toyModelJson('all'));
    writeFileIn(models, 'mine/model.onnx', 'onnx-bytes-all');
    // symlinks out: a model file and a whole export folder
    writeFileIn(models, 'linked/model.json', toyModelJson(0));
    symlinkSync(path.join(outside, 'secret.txt'), path.join(models, 'linked', 'model.onnx'));
    symlinkSync(outside, path.join(models, 'linked-dir'));
    server = await startServer({ resultsFolder: results, modelFolders: [models], port: 0, host: '127.0.0.1', pollMs: 100 });
  });

  after(async () => {
    await server?.close();
    for (const d of [results, models, outside]) rmSync(d, { recursive: true, force: true });
  });

  test('GET /api/runs: one entry per training with its state and best EMA replayed as the trainer does', async () => {
    const runs = (await (await fetch(`${server.url}/api/runs`)).json()) as RunSummary[];
    assert.equal(runs.length, 1);
    const r = runs[0];
    assert.deepEqual({ ...r, best_ema: null }, { id: r.id, dataset: 'Dataset999_Toy', configuration: '3d_fullres', trainer: 'nnUNetTrainer', plans: 'nnUNetPlans', fold: 0, epochs: 2, best_ema: null, state: 'finished' });
    // EMA: 0.4 (mean of [0.5, 0.3]), then 0.9·0.4 + 0.1·0.6
    assert.ok(Math.abs((r.best_ema ?? 0) - 0.42) < 1e-12, `best_ema ${r.best_ema}`);
    const d = (await (await fetch(`${server.url}/api/runs/${encodeURIComponent(r.id)}`)).json()) as RunDetail;
    assert.deepEqual(d.curves.train_loss, [-0.1, -0.3]);
    assert.deepEqual(d.curves.lr, [0.01, 0.0091]);
    assert.deepEqual(d.curves.epoch_time, [2, 2.5]);
    assert.deepEqual(d.curves.pseudo_dice, [[0.5, 0.3], [0.7, 0.5]]);
    assert.equal(d.best_epoch, 1);
    assert.deepEqual(d.checkpoints.map((c) => [c.name, c.epoch, c.best_ema]), [['checkpoint_final.pth', 2, 0.42]]);
    assert.deepEqual(d.early_stopping, { metric: 'ema_fg_dice', best: 0.42, best_epoch: 1, counter: 0, patience: 5, stopped: false });
    const png = await fetch(`${server.url}/api/runs/${encodeURIComponent(r.id)}/files/checkpoint_final.pth`);
    assert.equal(png.status, 200);
  });

  test('states: running while the lock is live, then interrupted, stopped_early; epochs arrive over SSE', async () => {
    const fold = foldDir(results, 'Dataset999_Toy', 'nnUNetTrainer__nnUNetPlans__2d', 'fold_all');
    const lock = await acquireFolderLock(fold, { command: 'nnunet train' });
    const log = trainingLog(fold);
    const controller = new AbortController();
    const response = await fetch(`${server.url}/api/events`, { signal: controller.signal });
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    /** The next `runs` event whose entry for the 2d run satisfies `want`. */
    const next = async (want: (r: RunSummary) => boolean): Promise<RunSummary> => {
      for (;;) {
        const end = buffer.indexOf('\n\n');
        if (end >= 0) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = /^data: (.*)$/m.exec(event)?.[1];
          const run = data ? (JSON.parse(data) as RunSummary[]).find((x) => x.configuration === '2d') : undefined;
          if (run && want(run)) return run;
          continue;
        }
        const { value, done } = await reader.read();
        if (done) throw new Error('event stream ended');
        buffer += value;
      }
    };
    try {
      assert.deepEqual(await next(() => true).then((r) => [r.state, r.epochs, r.fold, r.best_ema]), ['running', 0, 'all', null]);
      logEpoch(log, 0, epochs[0]);
      assert.equal((await next((r) => r.epochs === 1)).state, 'running');
      log.print('Epoch 1'); // an epoch in progress is not counted
      log.print(`Current learning rate: 0.00910`);
      logEpoch(log, 1, epochs[1]);
      assert.equal((await next((r) => r.epochs === 2)).epochs, 2);
      lock.release();
      assert.equal((await next((r) => r.state !== 'running')).state, 'interrupted');
      log.print('Early stopping at epoch 1: best ema_fg_dice 0.4200 reached at epoch 1 (no improvement by more than 0 for 3 epochs)');
      log.print('Training stopped early at epoch 1: best ema_fg_dice 0.4200 reached at epoch 1');
      assert.equal((await next((r) => r.state !== 'interrupted')).state, 'stopped_early');
    } finally {
      lock.release();
      controller.abort();
    }
  });

  test('a resumed run (second log) replaces the epochs after the checkpoint it resumed from', async () => {
    const fold = foldDir(results, 'Dataset998_Resume', 'nnUNetTrainer__nnUNetPlans__3d_fullres', 'fold_1');
    writeFileIn(fold, 'training_log_2026_1_1_10_00_00.txt', '');
    const first = path.join(fold, 'training_log_2026_1_1_10_00_00.txt');
    const log = trainingLog(fold);
    // the trainer's log name has this second's stamp; the first run's is older: write it under the older name
    unlinkSync(first);
    logEpoch(log, 0, epochs[0]);
    logEpoch(log, 1, { ...epochs[1], trainLoss: -9 });
    log.print('Epoch 2');
    const older = path.join(fold, 'training_log_2026_1_1_10_00_00.txt');
    const { renameSync, readFileSync } = await import('node:fs');
    renameSync(log.file, older);
    assert.ok(readFileSync(older, 'utf8').includes('train_loss -9.0000'));
    const resumed = trainingLog(fold);
    resumed.print('Resuming from checkpoint_latest.pth at epoch 1');
    logEpoch(resumed, 1, epochs[1]);
    const runs = (await (await fetch(`${server.url}/api/runs`)).json()) as RunSummary[];
    const r = runs.find((x) => x.dataset === 'Dataset998_Resume');
    assert.equal(r?.epochs, 2);
    const d = (await (await fetch(`${server.url}/api/runs/${encodeURIComponent(r!.id)}`)).json()) as RunDetail;
    assert.deepEqual(d.curves.train_loss, [-0.1, -0.3]);
    assert.equal(d.state, 'interrupted');
  });

  test('GET /api/models lists exports under the results folder and --models, not those reached through symlinks', async () => {
    const list = (await (await fetch(`${server.url}/api/models`)).json()) as ModelSummary[];
    assert.deepEqual(list.map((m) => JSON.stringify(m.folds)).sort(), ['["all"]', '[0,1]', '[0]']);
    for (const m of list) assert.deepEqual([m.dataset, m.configuration, m.trainer, m.plans], ['Dataset999_Toy', '3d_fullres', 'nnUNetTrainer', 'nnUNetPlans']);
    const two = list.find((m) => m.folds.length === 2)!;
    const onnx = await fetch(`${server.url}/api/models/${two.id}/files/${two.files[1].onnx}`);
    assert.equal(await onnx.text(), 'onnx-bytes-1');
    const linked = list.find((m) => JSON.stringify(m.folds) === '[0]')!;
    // its model.onnx is a symlink to a file outside: refused
    const refused = await fetch(`${server.url}/api/models/${linked.id}/files/model.onnx`);
    assert.equal(refused.status, 403);
    assert.ok(!(await refused.text()).includes(SECRET));
  });

  test('path traversal is refused: .., encoded %2e%2e and %2f, absolute paths, backslashes', async () => {
    const list = (await (await fetch(`${server.url}/api/models`)).json()) as ModelSummary[];
    const id = list.find((m) => m.folds[0] === 'all')!.id;
    const runs = (await (await fetch(`${server.url}/api/runs`)).json()) as RunSummary[];
    const runId = encodeURIComponent(runs.find((r) => r.dataset === 'Dataset999_Toy' && r.configuration === '3d_fullres')!.id);
    const secret = path.join(outside, 'secret.txt');
    const rel = path.relative(path.join(models, 'mine'), secret);
    const attempts = [
      `/api/models/${id}/files/${rel}`,
      `/api/models/${id}/files/${rel.replaceAll('..', '%2e%2e')}`,
      `/api/models/${id}/files/${rel.replaceAll('/', '%2f')}`,
      `/api/models/${id}/files/${rel.replaceAll('..', '%2e%2e').replaceAll('/', '%2F')}`,
      `/api/models/${id}/files/${encodeURIComponent(encodeURIComponent(rel))}`,
      `/api/models/${id}/files/${rel.replaceAll('/', '\\')}`,
      `/api/models/${id}/files/${encodeURIComponent(rel.replaceAll('/', '\\'))}`,
      `/api/models/${id}/files/${secret}`,
      `/api/models/${id}/files/${encodeURIComponent(secret)}`,
      `/api/models/${id}/files/%00${encodeURIComponent(secret)}`,
      `/api/runs/${runId}/files/${path.relative(path.join(results, 'x', 'y', 'z'), secret)}`,
      `/api/runs/${runId}/files/${encodeURIComponent(path.relative(path.join(results, 'x', 'y', 'z'), secret))}`,
      `/api/runs/${runId}/files/${encodeURIComponent(secret)}`,
      `/assets/${encodeURIComponent(path.relative(path.resolve('dist/web/assets'), secret))}`,
      `/assets/..%2f..%2f..%2fpackage.json`,
      `/api/models/${encodeURIComponent('../../..')}/files/secret.txt`,
    ];
    for (const p of attempts) {
      const { status, body } = await rawGet(server.url, p);
      // 400: Node's HTTP parser already rejects a raw backslash
      assert.ok([400, 403, 404].includes(status), `${p}: status ${status}`);
      assert.ok(!body.includes(SECRET) && !body.includes('"devDependencies"'), `${p}: leaked`);
    }
    // the same route serves what is inside
    assert.equal((await rawGet(server.url, `/api/models/${id}/files/model.onnx`)).body, 'onnx-bytes-all');
    // a symlinked folder inside the results folder that points outside
    const fold = foldDir(results, 'Dataset999_Toy', 'nnUNetTrainer__nnUNetPlans__3d_fullres', 'fold_0');
    mkdirSync(path.join(fold, 'validation'), { recursive: true });
    symlinkSync(outside, path.join(fold, 'validation', 'out'));
    const viaLink = await rawGet(server.url, `/api/runs/${runId}/files/validation/out/secret.txt`);
    assert.equal(viaLink.status, 403);
    // dot files (the fold's lock) are not served either
    writeFileIn(fold, '.nnunet-lock', SECRET);
    for (const p of [`/api/runs/${runId}/files/.nnunet-lock`, `/api/runs/${runId}/files/%2enunet-lock`.replace('%2enunet', '%2ennunet')]) {
      const { status, body } = await rawGet(server.url, p);
      assert.equal(status, 403, p);
      assert.ok(!body.includes(SECRET));
    }
    unlinkSync(path.join(fold, '.nnunet-lock'));
  });

  test('a request naming another Host is refused (DNS rebinding); a non-loopback --host warns', async () => {
    assert.equal((await rawGet(server.url, '/api/runs', 'evil.example:8080')).status, 403);
    assert.equal((await rawGet(server.url, '/api/runs', `localhost:${server.port}`)).status, 200);
    const warnings: string[] = [];
    const open = await startServer({ resultsFolder: results, modelFolders: [], port: 0, host: '0.0.0.0', warn: (m) => warnings.push(m) });
    await open.close();
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /0\.0\.0\.0.*not a loopback address/);
    await assert.rejects(startServer({ resultsFolder: results, modelFolders: [], port: server.port, host: '127.0.0.1' }), /127\.0\.0\.1:\d+ is in use/);
    const quiet: string[] = [];
    const local = await startServer({ resultsFolder: results, modelFolders: [], port: 0, host: '127.0.0.1', warn: (m) => quiet.push(m) });
    await local.close();
    assert.deepEqual(quiet, []);
  });

  test('the serve command: starts on --port/--results, answers, stops on SIGINT; refuses a missing folder', async () => {
    const lines: string[] = [];
    const log = console.log;
    console.log = (line: string) => lines.push(line);
    try {
      const running = serveCommand().parseAsync(['--port', '0', '--results', results, '--models', models], { from: 'user' });
      while (!lines.some((l) => l.startsWith('nnunet serve: http://127.0.0.1:'))) await new Promise((r) => setTimeout(r, 20));
      const url = /http:\/\/127\.0\.0\.1:\d+/.exec(lines.join('\n'))![0];
      const runs = (await (await fetch(`${url}/api/runs`)).json()) as RunSummary[];
      assert.ok(runs.some((r) => r.dataset === 'Dataset999_Toy'));
      assert.equal(((await (await fetch(`${url}/api/models`)).json()) as ModelSummary[]).length, 3);
      process.emit('SIGINT');
      await running;
    } finally {
      console.log = log;
    }
    await assert.rejects(serveCommand().parseAsync(['--results', path.join(results, 'nope')], { from: 'user' }), /nope: results folder not found/);
  });
});

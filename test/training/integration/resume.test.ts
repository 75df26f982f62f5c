// Exact resumption after SIGINT, per network: `train --c` ends with weights bitwise identical to an uninterrupted run.
// Runs the real CLI in child processes. (SIGKILL at random and named moments: kill-anywhere.test.ts.)
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, test } from 'node:test';
import { foldFolder } from '../../../src/model/model-folder.js';
import { type TinyDataset, finalStateHash, tinyDataset } from './fixture.js';

const PLAIN = { trainer: 'nnUNetTrainer', plans: 'nnUNetPlans', configuration: '3d_fullres' };
const RESENC = { ...PLAIN, plans: 'tinyResEncPlans' };

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
let data: TinyDataset;
before(async () => {
  data = await tinyDataset();
  // the tiny plans with a ResidualEncoderUNet (two blocks per stage), on the same preprocessed data as upstream's presets
  const plans = JSON.parse(readFileSync(path.join(data.preprocessedDatasetDir, 'nnUNetPlans.json'), 'utf8'));
  const arch = plans.configurations['3d_fullres'].architecture;
  arch.network_class_name = 'dynamic_network_architectures.architectures.unet.ResidualEncoderUNet';
  arch.arch_kwargs.n_blocks_per_stage = arch.arch_kwargs.n_conv_per_stage.map(() => 2);
  delete arch.arch_kwargs.n_conv_per_stage;
  plans.plans_name = RESENC.plans;
  writeFileSync(path.join(data.preprocessedDatasetDir, `${RESENC.plans}.json`), JSON.stringify(plans, null, 2));
});

function startTrain(results: string, extra: string[] = []): ChildProcess {
  const args = ['--import', 'tsx', 'src/cli/main.ts', 'train', data.datasetName, '3d_fullres', '0', '--preprocessed', data.preprocessed, '--results', results,
    '--num-epochs', '3', '--iterations-per-epoch', '6', '--val-iterations', '2', '--seed', '3', '--no-progress', ...extra];
  return spawn(process.execPath, args, { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
}

function finished(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }> {
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, output })));
}

async function trainToEnd(results: string, extra: string[] = []): Promise<string> {
  const r = await finished(startTrain(results, extra));
  assert.equal(r.code, 0, r.output);
  return r.output;
}

async function waitFor(file: string, timeoutMs = 120_000): Promise<void> {
  const start = Date.now();
  while (!existsSync(file)) {
    if (Date.now() - start > timeoutMs) throw new Error(`${file} did not appear`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const finalHashOf = (results: string, id = PLAIN) => finalStateHash(foldFolder(path.join(results, data.datasetName), id, 0));

let reference = '';
async function referenceHash(): Promise<string> {
  if (!reference) {
    const results = path.join(data.root, 'uninterrupted');
    await trainToEnd(results);
    reference = await finalHashOf(results);
  }
  return reference;
}

for (const [name, id] of [['PlainConvUNet', PLAIN], ['ResidualEncoderUNet', RESENC]] as const) {
  test(`SIGINT writes checkpoint_latest, says how to resume, exits 130; --c then matches the uninterrupted run (${name})`, async () => {
    const plansArgs = ['-p', id.plans];
    let expected = '';
    if (id === PLAIN) expected = await referenceHash();
    else {
      await trainToEnd(path.join(data.root, 'uninterrupted-resenc'), plansArgs);
      expected = await finalHashOf(path.join(data.root, 'uninterrupted-resenc'), id);
    }
    const results = path.join(data.root, `interrupted-${name}`);
    const child = startTrain(results, plansArgs);
    const done = finished(child);
    const fold = foldFolder(path.join(results, data.datasetName), id, 0);
    const latest = path.join(fold, 'checkpoint_latest.pth');
    await waitFor(latest);
    const firstWrite = statSync(latest).mtimeMs;
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGINT');
    const r = await done;
    assert.equal(r.code, 130, r.output);
    assert.match(r.output, /Resume with the same command plus --c/);
    assert.ok(statSync(latest).mtimeMs >= firstWrite);
    await trainToEnd(results, [...plansArgs, '--c']);
    assert.equal(await finalHashOf(results, id), expected);
  });
}

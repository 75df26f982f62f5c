// Kill anywhere, many times: one small run is SIGKILLed at 20+ seeded moments — while a checkpoint, the best
// checkpoint, checkpoint_final or progress.png is being written, during an epoch's validation, during the final
// validation, and at random times — and resumed with --c after each. It must end bitwise equal to an uninterrupted
// run. Named moments use the NNUNET_TS_KILL_AT test hook; the others are timed kills from outside (seeded, mulberry32).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, test } from 'node:test';
import { foldFolder } from '../../../src/model/model-folder.js';
import { prng } from '../../../src/cli/demo/synthetic-dataset.js';
import { type TinyDataset, finalStateHash, tinyDataset } from './fixture.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const PLAIN = { trainer: 'nnUNetTrainer', plans: 'nnUNetPlans', configuration: '3d_fullres' };
const MIN_KILLS = 20;
let data: TinyDataset;
before(async () => {
  data = await tinyDataset({ numTraining: 6 });
});

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

/** One `train` process; killed from outside after `killAfterMs` if given. */
function train(results: string, extra: string[], env: Record<string, string> = {}, killAfterMs?: number): Promise<Run> {
  const args = ['--import', 'tsx', 'src/cli/main.ts', 'train', data.datasetName, '3d_fullres', '0', '--preprocessed', data.preprocessed, '--results', results,
    '--num-epochs', '4', '--iterations-per-epoch', '3', '--val-iterations', '2', '--seed', '5', '--no-progress', ...extra];
  const child = spawn(process.execPath, args, { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const timer = killAfterMs === undefined ? null : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  return new Promise((resolve) =>
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, output });
    }),
  );
}

type Kill = { point: string } | { afterMs: number };

/** Every named moment once (in a seeded order, with seeded counts), then timed kills. */
function killPlan(random: () => number): Kill[] {
  const pick = (n: number) => 1 + Math.floor(random() * n);
  // counts stay small so that the moment still comes in a resumed run with few epochs left
  const named = [`write:checkpoint_latest.pth:${pick(2)}`, 'write:checkpoint_best.pth', `validation:${pick(2)}`, `write:progress.png:${pick(2)}`, 'write:checkpoint_final.pth', 'final-validation'];
  for (let i = named.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [named[i], named[j]] = [named[j], named[i]];
  }
  // checkpoint_final, then the final validation, end a chain: after them nothing is left to kill
  const late = ['write:checkpoint_final.pth', 'final-validation'];
  const early = named.filter((p) => !late.includes(p));
  const timed = Array.from({ length: 6 }, () => ({ afterMs: 1500 + Math.floor(random() * 5000) }));
  return [...early.map((point) => ({ point })), ...timed, ...late.map((point) => ({ point }))];
}

test(`SIGKILL at ${MIN_KILLS}+ seeded moments (checkpoint writes, validation, final validation, plot), each resumed with --c: bitwise equal`, { timeout: 600_000 }, async () => {
  const reference = path.join(data.root, 'reference');
  const ref = await train(reference, []);
  assert.equal(ref.code, 0, ref.output);
  const expected = await finalStateHash(foldFolder(path.join(reference, data.datasetName), PLAIN, 0));

  const random = prng(2026);
  const required = ['write:checkpoint_latest.pth', 'write:checkpoint_best.pth', 'validation', 'write:progress.png', 'write:checkpoint_final.pth', 'final-validation'];
  let kills = 0;
  const moments = new Set<string>();
  let plan: Kill[] = [];
  // a chain is one run killed again and again until it completes; a moment that did not come (the run completed
  // first) moves to the next chain
  for (let chain = 0; kills < MIN_KILLS || required.some((m) => !moments.has(m)); chain++) {
    assert.ok(chain < 6, `after ${chain} chains: ${kills} kills, moments ${[...moments]}`);
    const results = path.join(data.root, `chain-${chain}`);
    if (plan.length === 0) plan = killPlan(random);
    while (plan.length > 0) {
      const kill = plan.shift() as Kill;
      const resume = existsSync(path.join(results, data.datasetName)) ? ['--c'] : [];
      const r = 'point' in kill ? await train(results, resume, { NNUNET_TS_KILL_AT: kill.point }) : await train(results, resume, {}, kill.afterMs);
      if (r.signal !== 'SIGKILL') {
        assert.equal(r.code, 0, `${JSON.stringify(kill)}: ${r.output}`);
        plan.unshift(kill);
        break;
      }
      kills++;
      moments.add('point' in kill ? kill.point.replace(/:\d+$/, '') : 'timed');
    }
    const last = await train(results, ['--c']);
    assert.equal(last.code, 0, last.output);
    assert.equal(await finalStateHash(foldFolder(path.join(results, data.datasetName), PLAIN, 0)), expected, `chain ${chain}: the final state differs from the uninterrupted run`);
  }
});

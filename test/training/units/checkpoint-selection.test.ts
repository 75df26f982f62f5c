import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  checkScheduleCompatibility,
  scheduleMismatchMessage,
  selectCheckpoint,
} from '../../../src/training/checkpoint-selection.js';
import type { ScheduleSettings } from '../../../src/model/checkpoint.js';

type Meta = { current_epoch: number; tag: string };

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ckpt-'));
});
after(async () => {
  await rm(dir, { recursive: true });
});

/** Checkpoints here are JSON files; a truncated one fails to parse, like a torch.save cut short. */
async function readMeta(path: string): Promise<Meta> {
  return JSON.parse(await readFile(path, 'utf8')) as Meta;
}

async function folder(name: string, files: Record<string, string>): Promise<string[]> {
  const d = join(dir, name);
  await rm(d, { recursive: true, force: true });
  await mkdir(d);
  for (const [f, content] of Object.entries(files)) await writeFile(join(d, f), content);
  return ['checkpoint_final.pth', 'checkpoint_latest.pth', 'checkpoint_best.pth'].map((f) => join(d, f));
}

const meta = (epoch: number, tag: string) => JSON.stringify({ current_epoch: epoch, tag });

test('a corrupt newest checkpoint falls back to the newest valid one, with a warning', async () => {
  const full = meta(50, 'latest');
  const candidates = await folder('corrupt', { 'checkpoint_latest.pth': full.slice(0, 10), 'checkpoint_best.pth': meta(12, 'best') });
  const choice = await selectCheckpoint(candidates, readMeta);
  assert.ok(choice);
  assert.equal(choice.meta.tag, 'best');
  assert.equal(choice.path, candidates[2]);
  assert.equal(choice.warnings.length, 1);
  assert.match(choice.warnings[0], /^checkpoint_latest\.pth is corrupt \(.+\): using checkpoint_best\.pth \(epoch 12\)$/);
});

test('newest by stored epoch, not by name; equal epochs prefer final > latest > best', async () => {
  let c = await folder('byepoch', { 'checkpoint_latest.pth': meta(50, 'latest'), 'checkpoint_best.pth': meta(61, 'best') });
  assert.equal((await selectCheckpoint(c, readMeta))?.meta.tag, 'best');
  c = await folder('tie1', { 'checkpoint_latest.pth': meta(50, 'latest'), 'checkpoint_best.pth': meta(50, 'best') });
  assert.equal((await selectCheckpoint(c, readMeta))?.meta.tag, 'latest');
  c = await folder('tie2', { 'checkpoint_best.pth': meta(1000, 'best'), 'checkpoint_final.pth': meta(1000, 'final'), 'checkpoint_latest.pth': meta(1000, 'latest') });
  // candidate order must not matter
  assert.equal((await selectCheckpoint([...c].reverse(), readMeta))?.meta.tag, 'final');
  const choice = await selectCheckpoint(c, readMeta);
  assert.deepEqual(choice?.warnings, []);
});

test('no checkpoint: null; all corrupt: UserError naming each file', async () => {
  let c = await folder('none', {});
  assert.equal(await selectCheckpoint(c, readMeta), null);
  c = await folder('allbad', { 'checkpoint_latest.pth': '{"curr', 'checkpoint_best.pth': meta(-3, 'best') });
  await assert.rejects(selectCheckpoint(c, readMeta), (e: Error) =>
    e.name === 'UserError' && e.message.includes(c[1]) && e.message.includes(c[2]) && /current_epoch is -3/.test(e.message),
  );
});

const SAVED: ScheduleSettings = {
  trainer: 'nnUNetTrainer',
  num_epochs: 1000,
  num_iterations_per_epoch: 250,
  num_val_iterations_per_epoch: 50,
  plans_identifier: 'nnUNetPlans',
  configuration: '3d_fullres',
  fold: 0,
  seed: 12345,
};

test('schedule change detection lists every differing setting', () => {
  assert.deepEqual(checkScheduleCompatibility(SAVED, { ...SAVED }), []);
  const diffs = checkScheduleCompatibility(SAVED, { ...SAVED, num_epochs: 500, fold: 'all', configuration: '2d', seed: 7 });
  assert.deepEqual(diffs, [
    { setting: 'num_epochs', saved: 1000, requested: 500 },
    { setting: 'configuration', saved: '3d_fullres', requested: '2d' },
    { setting: 'fold', saved: 0, requested: 'all' },
    { setting: 'seed', saved: 12345, requested: 7 },
  ]);
  assert.equal(
    scheduleMismatchMessage('fold_0/checkpoint_latest.pth', diffs.slice(0, 1)),
    'fold_0/checkpoint_latest.pth was trained with a different schedule (num_epochs: saved 1000, requested 500); resume with the saved settings, start a new run, or pass --allow-schedule-change to continue with the new ones (the LR schedule or the data stream changes)',
  );
});

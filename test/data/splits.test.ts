import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { type Splits, loadOrCreateSplits, makeKFoldSplits } from '../../src/data/splits.js';
import { UserError } from '../../src/errors.js';
import { race } from '../io/race-child.js';

const root = mkdtempSync(path.join(tmpdir(), 'nnunet-splits-'));
after(() => rmSync(root, { recursive: true, force: true }));

function folder(name: string): string {
  const dir = path.join(root, name);
  mkdirSync(dir);
  return dir;
}

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}_${String(i).padStart(3, '0')}`);

function fileSplits(dir: string): Splits {
  return JSON.parse(readFileSync(path.join(dir, 'splits_final.json'), 'utf8')) as Splits;
}

// Different identifiers per racer make the split each would write differ, so agreeing proves the loser read the
// winner's file rather than computing the same split by chance.
test('two folds creating splits_final.json at once (same process): the first writer wins, the other reads its file', async () => {
  const dir = folder('in-process');
  const [a, b] = await Promise.all([loadOrCreateSplits(dir, ids('a', 10)), loadOrCreateSplits(dir, ids('b', 12))]);
  assert.deepEqual(a, b);
  assert.deepEqual(fileSplits(dir), a);
  assert.ok([makeKFoldSplits(ids('a', 10)), makeKFoldSplits(ids('b', 12))].some((s) => JSON.stringify(s) === JSON.stringify(a)));
  assert.deepEqual(readdirSync(dir), ['splits_final.json'], 'no temp files left');
});

test('two processes creating splits_final.json at once end with identical splits', async () => {
  const dir = folder('processes');
  const children = await race([
    { kind: 'splits', folder: dir, identifiers: ids('a', 10) },
    { kind: 'splits', folder: dir, identifiers: ids('b', 12) },
  ]);
  const [a, b] = await Promise.all(children.map((c) => c.result));
  await Promise.all(children.map((c) => c.finish()));
  assert.deepEqual(a, b);
  assert.deepEqual(fileSplits(dir), a);
  assert.deepEqual(readdirSync(dir), ['splits_final.json']);
});

test('an existing splits_final.json is used as it is; a broken one is refused by name', async () => {
  const dir = folder('existing');
  const custom: Splits = [{ train: ['x'], val: ['y'] }];
  writeFileSync(path.join(dir, 'splits_final.json'), JSON.stringify(custom));
  assert.deepEqual(await loadOrCreateSplits(dir, ids('a', 10)), custom);
  writeFileSync(path.join(dir, 'splits_final.json'), '[{"train": ');
  await assert.rejects(loadOrCreateSplits(dir, ids('a', 10)), (e) => e instanceof UserError && e.message.startsWith(`${path.join(dir, 'splits_final.json')}: not valid JSON`));
});

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { CommanderError } from 'commander';
import { normalizeArgv } from '../../src/cli/aliases.js';
import { generateSyntheticDataset } from '../../src/cli/demo/synthetic-dataset.js';
import { reportError } from '../../src/cli/run.js';
import { UserError } from '../../src/errors.js';
import { readNifti, writeNifti } from '../../src/io/nifti.js';
import { type CliResult, outputOf, runCli } from './cli-process.js';

const root = mkdtempSync(path.join(tmpdir(), 'nnunet-cli-errors-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** Fresh empty raw / preprocessed / results folders; `flags` names all three, `planFlags` the two the plan commands take. */
function folders(name: string): { raw: string; preprocessed: string; results: string; flags: string[]; planFlags: string[] } {
  const base = path.join(root, name);
  const dirs = { raw: path.join(base, 'raw'), preprocessed: path.join(base, 'preprocessed'), results: path.join(base, 'results') };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  const planFlags = ['--raw', dirs.raw, '--preprocessed', dirs.preprocessed];
  return { ...dirs, planFlags, flags: [...planFlags, '--results', dirs.results] };
}

/** One `nnunet: ...` line on stderr, no stack trace. */
function assertUserError(r: CliResult, pattern: RegExp): void {
  assert.equal(r.code, 1, outputOf(r));
  assert.doesNotMatch(r.stderr, /^ {4}at /m, 'no stack trace');
  assert.match(r.stderr, /^nnunet: /, outputOf(r));
  assert.match(r.stderr, pattern, outputOf(r));
}

/** Commander's usage errors: exactly one line on stderr, exit code 2. */
function assertUsageError(r: CliResult, pattern: RegExp): void {
  assert.equal(r.code, 2, outputOf(r));
  assert.doesNotMatch(r.stderr, /^ {4}at /m, 'no stack trace');
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, `one line: ${outputOf(r)}`);
  assert.match(r.stderr, pattern, outputOf(r));
}

test('a wrong option or value is one line on stderr and exit code 2', async () => {
  const [unknownCommand, unknown, badFold, badStep, noArgs] = await Promise.all([
    runCli(['tain', '4']),
    runCli(['train', '4', '3d_fullres', '0', '--bogus']),
    runCli(['train', '4', '3d_fullres', 'x']),
    runCli(['predict', '-i', 'in', '-o', 'out', '--step-size', '0']),
    runCli(['evaluate', 'ref', '--dataset-json', 'dataset.json']),
  ]);
  assertUsageError(unknownCommand, /^nnunet: unknown command 'tain'/);
  assertUsageError(unknown, /^nnunet train: unknown option '--bogus'/);
  assertUsageError(badFold, /^nnunet train: .*'fold'.*'x'/);
  assertUsageError(badStep, /^nnunet predict: .*--step-size.*\(0, 1\]/);
  assertUsageError(noArgs, /^nnunet evaluate: missing required argument/);
});

test('a dataset id with no folder names the id and the raw folder', async () => {
  const f = folders('missing-id');
  const r = await runCli(['plan-and-preprocess', '-d', '999', ...f.planFlags]);
  assertUserError(r, /Dataset999_\*/);
  assert.ok(r.stderr.includes(f.raw), outputOf(r));
});

test('an unset nnUNet_raw without --raw says which variable to set', async () => {
  const f = folders('no-env');
  const r = await runCli(['plan-and-preprocess', '-d', '4', '--preprocessed', f.preprocessed]);
  assertUserError(r, /nnUNet_raw is not set/);
  // the variable alone is enough
  const withEnv = await runCli(['plan-and-preprocess', '-d', '4', '--preprocessed', f.preprocessed], { env: { nnUNet_raw: f.raw } });
  assertUserError(withEnv, /no dataset folder Dataset004_\*/);
});

test('train on a dataset that was not preprocessed says to run plan-and-preprocess', async () => {
  const f = folders('not-preprocessed');
  await generateSyntheticDataset({ rawDir: f.raw, datasetId: 7, shape: [6, 8, 8], numTraining: 2, numTest: 0 });
  const [byId, missing] = await Promise.all([runCli(['train', '7', '3d_fullres', '0', ...f.flags]), runCli(['train', '8', '3d_fullres', '0', ...f.flags])]);
  assertUserError(byId, /Dataset007_Synthetic is not preprocessed: .*nnUNetPlans\.json not found; run `nnunet plan-and-preprocess -d 7 -c 3d_fullres` first/);
  // an id found nowhere: the preprocessed folder is the one named, as train reads from it
  assertUserError(missing, new RegExp(`${f.preprocessed}: no dataset folder Dataset008_\\*`));
  assert.deepEqual(readdirSync(f.results), [], 'nothing written to the results folder');
});

test('evaluate with a missing folder and predict without a model name the problem', async () => {
  const f = folders('evaluate-predict');
  const absent = path.join(root, 'absent');
  const [evaluate, predictNoModel, predictNoConfig, predictAbsentModel] = await Promise.all([
    runCli(['evaluate', absent, f.raw, '--dataset-json', path.join(f.raw, 'dataset.json')]),
    runCli(['predict', '-i', f.raw, '-o', path.join(root, 'out')]),
    runCli(['predict', '-i', f.raw, '-o', path.join(root, 'out'), '-d', '4']),
    runCli(['predict', '-i', f.raw, '-o', path.join(root, 'out'), '-m', absent]),
  ]);
  assertUserError(evaluate, new RegExp(`${absent}: reference folder not found`));
  assertUserError(predictNoModel, /predict needs -m MODEL_FOLDER, or -d DATASET and -c CONFIGURATION/);
  assertUserError(predictNoConfig, /predict needs -m MODEL_FOLDER, or -d DATASET and -c CONFIGURATION/);
  assertUserError(predictAbsentModel, new RegExp(`${absent}: model folder not found`));
});

test('a broken raw dataset fails the integrity check, names the file and leaves nnUNet_preprocessed empty', async () => {
  const f = folders('broken');
  const ds = await generateSyntheticDataset({ rawDir: f.raw, datasetId: 5, shape: [6, 10, 10], numTraining: 3, numTest: 0 });
  const labelFile = path.join(ds.datasetDir, 'labelsTr', 'synth_002.nii.gz');
  const label = await readNifti(labelFile);
  const data = new Uint8Array(label.data);
  data[data.length >> 1] = 5; // dataset.json declares 0, 1, 2
  await writeNifti(labelFile, data, label.shape, label.header);
  // nnU-Net's Python-style spelling of the flag (mapped by aliases.ts) and of -np
  const r = await runCli(['plan-and-preprocess', '-d', '5', '--verify_dataset_integrity', '-np', '1', ...f.planFlags]);
  assertUserError(r, /label values 5 are not declared/);
  assert.ok(r.stderr.includes(labelFile), `names ${labelFile}: ${outputOf(r)}`);
  assert.deepEqual(readdirSync(f.preprocessed), [], 'nothing under nnUNet_preprocessed');
});

test("nnU-Net's Python-style flags map to this CLI's options", () => {
  assert.deepEqual(normalizeArgv(['evaluate', 'a', 'b', '-djfile', 'dataset.json', '-np', '2']), ['evaluate', 'a', 'b', '--dataset-json', 'dataset.json', '--num-processes', '2']);
  assert.deepEqual(normalizeArgv(['-chk=checkpoint_best.pth', '--save_probabilities', '--val_best', '-d', '4']), ['--checkpoint=checkpoint_best.pth', '--save-probabilities', '--val-best', '-d', '4']);
  // values and single-letter flags are left alone
  assert.deepEqual(normalizeArgv(['-c', '3d_fullres', 'my_file_name', '-f', '0']), ['-c', '3d_fullres', 'my_file_name', '-f', '0']);
});

test('exit codes: help 0, usage 2, user mistakes 1 without stack, bugs 70 with stack', (t) => {
  const printed: string[] = [];
  t.mock.method(console, 'error', (...args: unknown[]) => printed.push(args.join(' ')));
  assert.equal(reportError(new CommanderError(0, 'commander.helpDisplayed', '(outputHelp)')), 0);
  assert.equal(reportError(new CommanderError(1, 'commander.unknownOption', "error: unknown option '--x'")), 2);
  assert.deepEqual(printed, [], 'commander has printed its own message already');
  assert.equal(reportError(new UserError('a.json: broken')), 1);
  assert.deepEqual(printed, ['nnunet: a.json: broken']);
  printed.length = 0;
  const bug = new TypeError('x is undefined');
  assert.equal(reportError(bug), 70);
  assert.match(printed.join('\n'), /internal error/);
  assert.ok(printed.join('\n').includes(bug.stack as string), 'the stack is printed');
});

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { outputOf, repoRoot, runCli } from './cli-process.js';

const SUBCOMMANDS = ['demo', 'convert-msd', 'plan-and-preprocess', 'extract-fingerprint', 'plan', 'preprocess', 'train', 'predict', 'ensemble', 'evaluate', 'find-best-configuration', 'apply-postprocessing', 'export-onnx', 'serve'];

interface HelpItem {
  section: string;
  term: string;
  text: string;
}

/** The items of a commander help text: each `  term  text` line under a heading, with wrapped text joined on. */
function helpItems(help: string): HelpItem[] {
  const items: HelpItem[] = [];
  let section = '';
  for (const line of help.split('\n')) {
    if (/^\S.*:$/.test(line)) section = line;
    else if (/^ {2}\S/.test(line) && section) {
      const m = /^ {2}(\S.*?)(?: {2,}(\S.*))?$/.exec(line) as RegExpExecArray;
      items.push({ section, term: m[1], text: m[2] ?? '' });
    } else if (/^ {3,}\S/.test(line) && items.length) items[items.length - 1].text += ` ${line.trim()}`;
  }
  return items;
}

test('nnunet --help lists every subcommand with a description', async () => {
  const r = await runCli(['--help']);
  assert.equal(r.code, 0, outputOf(r));
  const commands = helpItems(r.stdout).filter((i) => i.section === 'Commands:');
  assert.deepEqual(commands.map((c) => c.term).filter((t) => t !== 'help'), SUBCOMMANDS);
  for (const c of commands) assert.ok(c.text.length > 10, `${c.term} has no description: '${c.text}'`);
  assert.match(r.stdout, /nnUNet_raw/, 'the overview names the folder variables');
});

test('every subcommand --help explains each argument and option', async () => {
  // two at a time: one child per core
  const results = new Map<string, string>();
  for (let i = 0; i < SUBCOMMANDS.length; i += 2) {
    await Promise.all(
      SUBCOMMANDS.slice(i, i + 2).map(async (name) => {
        const r = await runCli([name, '--help']);
        assert.equal(r.code, 0, `${name} --help: ${outputOf(r)}`);
        results.set(name, r.stdout);
      }),
    );
  }
  for (const name of SUBCOMMANDS) {
    const help = results.get(name) as string;
    assert.match(help, new RegExp(`^Usage: nnunet ${name} `), `${name}: usage line`);
    const items = helpItems(help);
    const options = items.filter((i) => i.term.startsWith('-'));
    assert.ok(options.length >= 2, `${name}: options listed`);
    assert.ok(options.some((o) => o.term === '-h, --help'), `${name}: --help listed`);
    for (const item of items) assert.ok(item.text.length >= 8, `${name}: '${item.term}' (${item.section}) has no explanation`);
  }
  // defaults are stated, e.g. the training budget and the folder variables
  assert.match(results.get('train') as string, /--num-epochs <n>\s+epochs \(default: the trainer's;\s+nnUNetTrainer: 1000\)/);
  assert.match(results.get('train') as string, /--trainer <name>\s+trainer recipe \(-tr\)/);
  assert.match(results.get('train') as string, /--preprocessed <dir>\s+nnUNet_preprocessed folder \(default:\s+\$nnUNet_preprocessed\)/);
});

test('nnunet --version prints the package version', async () => {
  const { version } = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  const r = await runCli(['--version']);
  assert.equal(r.code, 0, outputOf(r));
  assert.equal(r.stdout.trim(), version);
});

// Data-parallel `nnunet train` end to end on 2 CPU ranks over gloo, on a tiny dataset, in as few runs as possible:
//   A  two launchers (--nnodes 2 --node-rank 0|1 --master-addr 127.0.0.1) train as one job; early stopping ends the
//      run on every rank at the same epoch; checkpoint_final loads in PyTorch's torch.load; the final validation is
//      sharded and summarized once.
//   B  the same job with --num-processes 2: SIGINT to the launcher checkpoints once mid-epoch and exits 130; --c,
//      then kill -9 of rank 1 mid-epoch: every process is gone within 60 s, non-zero, with the failed rank and the
//      resume command named; --c again finishes bitwise equal to A.
//   C  the one-line refusals: a taken port, a world-size mismatch, an unreachable master, --c with another world
//      size, -np, --num-gpus without CUDA, a batch smaller than the world.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, test } from 'node:test';
import { foldFolder } from '../../../src/model/model-folder.js';
import { readCheckpoint, resumeStateOf } from '../../../src/model/checkpoint.js';
import { dispose } from '../../../src/torch/index.js';
import { type TinyDataset, finalStateHash, tinyDataset } from '../integration/fixture.js';
import { REFERENCE_PYTHON, referenceUnavailable } from '../../torch/torch-reference.js';
import { freePort } from './ports.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const PLAIN = { trainer: 'nnUNetTrainer', plans: 'nnUNetPlans', configuration: '3d_fullres' };
let data: TinyDataset;
before(async () => {
  data = await tinyDataset({ numTraining: 6 });
});

interface Run {
  child: ChildProcess;
  output: () => string;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string; seconds: number }>;
  /** Resolves when `text` appears in the output. */
  waitFor(text: string): Promise<void>;
}

// the library's main([...]) from a script of the user's (under -e, process.argv[1] is the first argument, not a script)
const THROUGH_MAIN = ['--input-type=module', '-e', "import { main } from './src/cli/program.ts'; process.exit(await main(process.argv.slice(1)));"];

function cli(args: string[], env: Record<string, string> = {}, entry: string[] = ['src/cli/main.ts']): Run {
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', ...entry, ...args], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NNUNET_NUM_THREADS: '1', ...env } });
  let output = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  const onData = (d: Buffer) => {
    output += d;
    for (const w of waiters.splice(0)) (output.includes(w.text) ? w.resolve : () => waiters.push(w))();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string; seconds: number }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, output, seconds: (Date.now() - started) / 1000 })),
  );
  return {
    child,
    output: () => output,
    done,
    waitFor: (text) => new Promise((resolve) => (output.includes(text) ? resolve() : waiters.push({ text, resolve }))),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function trainArgs(results: string, extra: string[]): string[] {
  return ['train', data.datasetName, '3d_fullres', '0', '--preprocessed', data.preprocessed, '--results', results, '--num-epochs', '4', '--iterations-per-epoch', '2', '--val-iterations', '1', '--seed', '5', '--no-progress',
    // val_loss never improves by 100: the run stops early, after the first epoch and `patience` more
    '--early-stopping-patience', '1', '--early-stopping-metric', 'val_loss', '--early-stopping-min-delta', '100', ...extra];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function rankPids(output: string): Map<number, number> {
  return new Map([...output.matchAll(/(\d+) \(pid (\d+)\)/g)].map((m) => [Number(m[1]), Number(m[2])]));
}

let referenceHash = '';
let referenceOutput = '';

test('A: two launchers (--nnodes 2, one through the library\'s main) train as one job, stop early together, and write a checkpoint torch.load reads', async () => {
  const results = path.join(data.root, 'two-nodes');
  const port = String(await freePort());
  const nodes = [0, 1].map((n) => cli(trainArgs(results, ['--nnodes', '2', '--node-rank', String(n), '--master-addr', '127.0.0.1', '--master-port', port]), {}, n === 1 ? THROUGH_MAIN : undefined));
  const [n0, n1] = await Promise.all(nodes.map((r) => r.done));
  assert.equal(n0.code, 0, n0.output);
  assert.equal(n1.code, 0, n1.output);
  referenceOutput = n0.output;
  assert.match(n0.output, /world of 2 \(node 0 of 2\)/);
  assert.match(n0.output, /batch 2 over 2 ranks/);
  // early stopping: epochs 0 and 1, and both ranks agreed (a rank that went on would have failed its collectives)
  assert.match(n0.output, /Early stopping at epoch 1/);
  assert.match(n0.output, /2 epoch\(s\) \(stopped early\)/);
  const fold = foldFolder(path.join(results, data.datasetName), PLAIN, 0);
  referenceHash = await finalStateHash(fold);
  // the sharded final validation: every validation case exported, one summary
  assert.ok(existsSync(path.join(fold, 'validation', 'summary.json')));
  assert.match(n0.output, /validation mean foreground Dice [\d.]+ \(2 cases\)/);
  const why = referenceUnavailable();
  if (why) return console.log(`skipping torch.load: ${why}`);
  const py = spawnSync(REFERENCE_PYTHON, ['-c', `import torch, sys; c = torch.load(sys.argv[1], map_location='cpu'); print(c['current_epoch'], c['nnunet_ts']['schedule']['world_size'], len(c['network_weights']))`, path.join(fold, 'checkpoint_final.pth')], { encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
  const [epoch, world, tensors] = py.stdout.trim().split(' ').map(Number);
  assert.deepEqual([epoch, world], [2, 2]);
  assert.ok(tensors > 10);
});

test('B: SIGINT checkpoints once and exits 130; kill -9 of a rank stops all; --c ends bitwise equal to A', async () => {
  assert.ok(referenceHash, 'A ran');
  const results = path.join(data.root, 'interrupted');
  const fold = foldFolder(path.join(results, data.datasetName), PLAIN, 0);
  const args = (extra: string[]) => trainArgs(results, ['--num-processes', '2', '--master-port', String(port), ...extra]);
  let port = await freePort();

  const first = cli(args([]));
  await first.waitFor('Epoch 0');
  await sleep(1500);
  first.child.kill('SIGINT');
  const interrupted = await first.done;
  assert.equal(interrupted.code, 130, interrupted.output);
  assert.equal(interrupted.output.match(/Interrupted by SIGINT/g)?.length, 1, interrupted.output);
  const latest = await readCheckpoint(path.join(fold, 'checkpoint_latest.pth'));
  const resumeAt = resumeStateOf(latest);
  dispose(latest);
  assert.ok(resumeAt && (resumeAt.resume_iteration > 0 || latest.current_epoch > 0), 'a mid-run checkpoint');

  port = await freePort();
  const second = cli(args(['--c']));
  await second.waitFor('Epoch 1');
  await sleep(800);
  const pids = rankPids(second.output());
  assert.equal(pids.size, 2, second.output());
  process.kill(pids.get(1) as number, 'SIGKILL');
  const killedAt = Date.now();
  const failed = await second.done;
  assert.ok(Date.now() - killedAt < 60_000);
  assert.notEqual(failed.code, 0, failed.output);
  assert.match(failed.output, /rank 1 was killed by SIGKILL; the other ranks were stopped\. Resume with: nnunet train .* --c/);
  for (const pid of pids.values()) assert.ok(!alive(pid), `rank pid ${pid} is gone`);

  port = await freePort();
  const last = await cli(args(['--c'])).done;
  assert.equal(last.code, 0, last.output);
  assert.match(last.output, /stopped early/);
  assert.equal(await finalStateHash(fold), referenceHash, 'interrupted, killed and resumed 2-rank run equals the uninterrupted one');
  assert.ok(referenceOutput.length > 0);
});

test('C: one clear line for a taken port, a world-size mismatch, an unreachable master and other refusals', async () => {
  const results = path.join(data.root, 'refusals');
  const base = trainArgs(results, ['--dist-timeout', '4']);
  // rank 0 waits long enough for a rank 1 that starts late on a loaded machine, and rank 1 longer than rank 0
  const waiting = (s: number) => trainArgs(results, ['--dist-timeout', String(s)]);

  // a port already in use; ranks started with different world sizes; a rank whose master is not there (all at once)
  const server = createServer();
  const taken = await new Promise<number>((resolve) => server.listen(0, () => resolve((server.address() as { port: number }).port)));
  const port = String(await freePort());
  const env = (rank: number, world: number) => ({ RANK: String(rank), WORLD_SIZE: String(world), MASTER_ADDR: '127.0.0.1', MASTER_PORT: port, GLOG_minloglevel: '3' });
  const nobody = String(await freePort());
  const [inUse, r0, r1, lonely] = await Promise.all([
    cli([...base, '--num-processes', '2', '--master-port', String(taken)]).done,
    cli(waiting(15), env(0, 2)).done,
    cli(waiting(30), env(1, 3)).done,
    cli(base, { ...env(1, 2), MASTER_PORT: nobody }).done,
  ]);
  server.close();
  assert.equal(inUse.code, 1);
  assert.match(inUse.output, new RegExp(`port ${taken} is already in use on this machine`));
  assert.equal(r1.code, 1);
  assert.match(r1.output, /mismatched world size: this process \(rank 1\) was started with WORLD_SIZE=3, rank 0 with 2/);
  assert.equal(r0.code, 1);
  assert.match(r0.output, /only 1 of 2 ranks joined within 15 s/);
  assert.equal(lonely.code, 1);
  assert.match(lonely.output, /could not reach the master at 127\.0\.0\.1:\d+ within 4 s/);
  for (const r of [inUse, r0, r1, lonely]) assert.equal(r.output.trim().split('\n').filter((l) => l.startsWith('nnunet:')).length, 1, r.output);

  // the refusals that need no rendezvous, and a batch smaller than the world
  const twoNodes = path.join(data.root, 'two-nodes');
  const [np, gpus, tooMany, otherWorld] = await Promise.all([
    cli([...base, '-np', '2']).done,
    cli([...base, '--num-gpus', '2']).done,
    cli([...base, '--num-processes', '3', '--master-port', String(await freePort())]).done,
    // A's 2-rank checkpoint, resumed by 1 process
    cli(trainArgs(twoNodes, ['--c', '--num-epochs', '6'])).done,
  ]);
  assert.match(np.output, /-np is ambiguous on train/);
  assert.equal(gpus.code, 1);
  assert.match(gpus.output, /--num-gpus needs a CUDA libtorch with NCCL/);
  assert.notEqual(tooMany.code, 0);
  assert.match(tooMany.output, /the plans' batch size 2 is smaller than the 3 ranks/);
  assert.equal(otherWorld.code, 1);
  assert.match(otherWorld.output, /world_size: saved 2, requested 1/);
});

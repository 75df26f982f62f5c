// The launcher of a data-parallel run on one node, as torchrun: it starts this node's ranks as child processes (the
// same command with RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT set), splits the cores between them and
// supervises them. When a rank fails the others are stopped, so nothing waits on a dead peer; SIGINT/SIGTERM are
// forwarded once, and the ranks checkpoint and exit together. The children get their own process group, so a Ctrl-C
// on the terminal reaches them only through the launcher (once, not twice).
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import os from 'node:os';
import { createInterface } from 'node:readline';
import { UserError } from '../../errors.js';

export interface LaunchOptions {
  /** Ranks started on this node. */
  ranksPerNode: number;
  nnodes: number;
  nodeRank: number;
  masterAddr: string;
  masterPort: number;
  /** Node's arguments that start the CLI in a rank (flags such as a loader, then the entry script). */
  entry: readonly string[];
  /** Arguments of the CLI to run in every rank (without node and script). */
  args: readonly string[];
  /** The command to print for resuming after a failure. */
  resumeCommand: string;
  /** After a failure, how long the other ranks get to exit on their own before SIGKILL. */
  graceMs?: number;
  /** Where the launcher's own lines go (default stderr). */
  print?: (line: string) => void;
}

export const EXIT_SIGINT = 130;
const EXIT_SIGTERM = 143;

/** Refuses a taken port before any rank starts, so the user sees one line instead of every rank's rendezvous error. */
async function assertPortFree(port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'EADDRINUSE' ? new UserError(`port ${port} is already in use on this machine (another training or program holds it): pass --master-port with a free port`) : err);
    });
    server.listen(port, () => server.close(() => resolve()));
  });
}

interface RankExit {
  rank: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** We sent it SIGTERM/SIGKILL (stopping the group after another rank's failure). */
  stoppedByUs: boolean;
}

function describe(e: RankExit): string {
  return e.signal ? `was killed by ${e.signal}` : `exited with code ${e.code}`;
}

/** Starts this node's ranks and waits for them; resolves to the exit code the launcher should end with. */
export async function launch(o: LaunchOptions): Promise<number> {
  const print = o.print ?? ((line: string) => console.error(line));
  const worldSize = o.nnodes * o.ranksPerNode;
  if (o.nodeRank === 0) await assertPortFree(o.masterPort);
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  // the user's NNUNET_NUM_THREADS wins, as in one process
  const threads = process.env.NNUNET_NUM_THREADS ?? String(Math.max(1, Math.floor(cores / o.ranksPerNode)));
  const children: { rank: number; child: ChildProcess; exited: boolean; signalled: boolean }[] = [];
  const exits: RankExit[] = [];
  let failed = false;
  let forwarded: NodeJS.Signals | null = null;
  let killTimer: NodeJS.Timeout | null = null;

  const stopOthers = () => {
    for (const c of children) {
      if (c.exited) continue;
      c.signalled = true;
      c.child.kill('SIGTERM');
    }
    killTimer = setTimeout(() => {
      for (const c of children) if (!c.exited) c.child.kill('SIGKILL');
    }, o.graceMs ?? 10_000);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    forwarded = signal;
    for (const c of children) if (!c.exited) c.child.kill(signal);
  };
  const onInt = () => onSignal('SIGINT');
  const onTerm = () => onSignal('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);

  const done = new Promise<void>((resolve) => {
    for (let localRank = 0; localRank < o.ranksPerNode; localRank++) {
      const rank = o.nodeRank * o.ranksPerNode + localRank;
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        RANK: String(rank),
        WORLD_SIZE: String(worldSize),
        LOCAL_RANK: String(localRank),
        LOCAL_WORLD_SIZE: String(o.ranksPerNode),
        MASTER_ADDR: o.masterAddr,
        MASTER_PORT: String(o.masterPort),
        NNUNET_LAUNCHER_PID: String(process.pid),
        NNUNET_NUM_THREADS: threads,
        // c10d logs every failed bind/connect attempt through glog; the ranks report failures themselves, in one line
        GLOG_minloglevel: process.env.GLOG_minloglevel ?? '3',
      };
      const main = rank === 0;
      const child = spawn(process.execPath, [...o.entry, ...o.args], { env, detached: true, stdio: ['ignore', main ? 'inherit' : 'ignore', main ? 'inherit' : 'pipe'] });
      if (child.stderr) {
        // the other ranks' log lines repeat rank 0's; their errors are kept, prefixed
        createInterface({ input: child.stderr }).on('line', (line) => print(`[rank ${rank}] ${line}`));
      }
      const entry = { rank, child, exited: false, signalled: false };
      children.push(entry);
      child.on('exit', (code, signal) => {
        entry.exited = true;
        // after a forwarded signal, a rank that checkpointed exits 130/143; one still starting up dies of the signal itself
        const ok = code === 0 || (forwarded !== null && (code === EXIT_SIGINT || code === EXIT_SIGTERM || signal === forwarded));
        exits.push({ rank, code, signal, stoppedByUs: entry.signalled });
        if (!ok && !failed) {
          failed = true;
          stopOthers();
        }
        if (children.every((c) => c.exited)) resolve();
      });
    }
  });
  print(`started ranks ${children.map((c) => `${c.rank} (pid ${c.child.pid})`).join(', ')} of a world of ${worldSize}${o.nnodes > 1 ? ` (node ${o.nodeRank} of ${o.nnodes})` : ''}, ${threads} thread(s) each`);
  try {
    await done;
  } finally {
    if (killTimer) clearTimeout(killTimer);
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
  if (!failed) {
    if (forwarded) return forwarded === 'SIGINT' ? EXIT_SIGINT : EXIT_SIGTERM;
    return 0;
  }
  // the rank that failed first on its own: a killed rank's peers fail right after it, with "lost the connection"
  const own = exits.filter((e) => !e.stoppedByUs && !(e.code === 0));
  const culprit = own.find((e) => e.signal !== null) ?? own[0];
  print(`nnunet: rank ${culprit.rank} ${describe(culprit)}; the other ranks were stopped. Resume with: ${o.resumeCommand}`);
  return culprit.code && culprit.code > 0 ? culprit.code : 1;
}

/** In a rank started by the launcher: exit when the launcher is gone (killed with -9), instead of training on alone. */
export function exitWithLauncher(env: NodeJS.ProcessEnv = process.env): void {
  const pid = Number(env.NNUNET_LAUNCHER_PID);
  if (!Number.isInteger(pid) || pid <= 0) return;
  // the parent changes when the launcher dies (an unreaped launcher still answers kill(pid, 0)); checked between
  // training steps, when the event loop turns
  setInterval(() => {
    if (process.ppid === pid) return;
    console.error(`nnunet: rank ${env.RANK}: the launcher (pid ${pid}) is gone: stopping`);
    process.exit(1);
  }, 1000).unref();
}

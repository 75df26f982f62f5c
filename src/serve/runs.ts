// The trainings under nnUNet_results (<Dataset>/<trainer>__<plans>__<configuration>/fold_<f>/) as the runs page
// shows them: their state from the fold's lock and files, their curves from its training logs (followed: only the
// bytes appended since the last look are read), and, per run, its checkpoints and early-stopping state.
import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { lockIsLive, readFolderLock } from '../io/folder-lock.js';
import { CHECKPOINT_FILES, type Fold, parseModelFolderName } from '../model/model-folder.js';
import { readPthRecords } from '../torch/serialization/pth-records-io.js';
import type { CheckpointInfo, Curves, EarlyStoppingInfo, RunDetail, RunState, RunSummary } from './api-types.js';
import { TrainingLogReader, curvesOf } from './training-log.js';

interface RunLocation {
  id: string;
  folder: string;
  dataset: string;
  trainer: string;
  plans: string;
  configuration: string;
  fold: Fold;
}

const LOG_NAME = /^training_log_(\d+)_(\d+)_(\d+)_(\d+)_(\d+)_(\d+)\.txt$/;

/** training_log_<Y>_<M>_<D>_<h>_<m>_<s>.txt in the order written (the stamp is not zero-padded). */
function logOrder(name: string): number[] {
  const m = LOG_NAME.exec(name);
  return m ? m.slice(1).map(Number) : [];
}

function compareStamps(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
  return 0;
}

async function dirs(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
}

interface FollowedFile {
  name: string;
  size: number;
  /** Bytes of the file already fed to the reader, up to the last complete line. */
  offset: number;
}

/** The parsed training logs of one fold, extended with what was appended since the last call. */
class LogFollower {
  private reader = new TrainingLogReader();
  private files: FollowedFile[] = [];

  constructor(private readonly folder: string) {}

  async update(names: string[]): Promise<TrainingLogReader> {
    const sizes = await Promise.all(names.map(async (n) => (await stat(path.join(this.folder, n)).catch(() => null))?.size ?? 0));
    // only appends to the newest file are followed; a new file, or any other change, re-reads them all
    const sameFiles = this.files.length === names.length && this.files.every((f, i) => f.name === names[i] && (i === names.length - 1 ? sizes[i] >= f.size : sizes[i] === f.size));
    if (!sameFiles) {
      this.reader = new TrainingLogReader();
      this.files = names.map((name) => ({ name, size: 0, offset: 0 }));
    }
    for (const [i, f] of this.files.entries()) {
      if (f.offset === 0) this.reader.startFile();
      f.size = sizes[i];
      if (sizes[i] > f.offset) f.offset += await this.feed(f.name, f.offset, sizes[i]);
    }
    return this.reader;
  }

  /** Feeds the complete lines in [from, to) of `name`; returns the bytes consumed. */
  private async feed(name: string, from: number, to: number): Promise<number> {
    const handle = await open(path.join(this.folder, name), 'r');
    try {
      const bytes = Buffer.alloc(to - from);
      const { bytesRead } = await handle.read(bytes, 0, bytes.length, from);
      const text = bytes.subarray(0, bytesRead).toString('utf8');
      const end = text.lastIndexOf('\n');
      if (end < 0) return 0;
      for (const line of text.slice(0, end).split('\n')) this.reader.line(line.replace(/\r$/, ''));
      return Buffer.byteLength(text.slice(0, end + 1));
    } finally {
      await handle.close();
    }
  }
}

const EarlyStoppingStateSchema = z.looseObject({
  metric: z.string(),
  counter: z.number(),
  bestValue: z.number().nullable(),
  bestEpoch: z.number().nullable(),
  stopped: z.boolean(),
});

const CheckpointFieldsSchema = z.looseObject({
  current_epoch: z.number(),
  _best_ema: z.number().nullable().optional(),
  nnunet_ts: z.looseObject({ callbacks: z.record(z.string(), z.unknown()).optional() }).optional(),
});

interface CheckpointRead {
  key: string;
  epoch: number | null;
  bestEma: number | null;
  earlyStopping: z.infer<typeof EarlyStoppingStateSchema> | null;
}

/** The runs under one results folder; keeps what it parsed so that a poll reads only what changed. */
export class RunsIndex {
  private readonly followers = new Map<string, LogFollower>();
  private readonly checkpoints = new Map<string, CheckpointRead>();

  constructor(readonly resultsFolder: string) {}

  private async locate(): Promise<RunLocation[]> {
    const runs: RunLocation[] = [];
    for (const dataset of await dirs(this.resultsFolder)) {
      for (const model of await dirs(path.join(this.resultsFolder, dataset))) {
        const identity = parseModelFolderName(model);
        if (!identity) continue;
        for (const foldName of await dirs(path.join(this.resultsFolder, dataset, model))) {
          const m = /^fold_(\d+|all)$/.exec(foldName);
          if (!m) continue;
          const fold: Fold = m[1] === 'all' ? 'all' : Number(m[1]);
          runs.push({ id: `${dataset}--${model}--${foldName}`, folder: path.join(this.resultsFolder, dataset, model, foldName), dataset, ...identity, fold });
        }
      }
    }
    return runs;
  }

  private async logOf(run: RunLocation): Promise<{ names: string[]; reader: TrainingLogReader }> {
    const names = (await readdir(run.folder).catch(() => [] as string[])).filter((n) => LOG_NAME.test(n)).sort((a, b) => compareStamps(logOrder(a), logOrder(b)));
    let follower = this.followers.get(run.folder);
    if (!follower) this.followers.set(run.folder, (follower = new LogFollower(run.folder)));
    return { names, reader: await follower.update(names) };
  }

  private async summarize(run: RunLocation): Promise<{ summary: RunSummary; reader: TrainingLogReader; bestEpoch: number | null; curves: Curves }> {
    const { reader } = await this.logOf(run);
    const log = reader.summary();
    const { curves, bestEma, bestEpoch } = curvesOf(log.epochs);
    const lock = await readFolderLock(run.folder);
    const hasFinal = await stat(path.join(run.folder, CHECKPOINT_FILES.final)).then(() => true, () => false);
    let state: RunState;
    if (lock && lockIsLive(lock)) state = 'running';
    else if (log.stoppedEarly) state = 'stopped_early';
    else if (hasFinal) state = 'finished';
    else state = 'interrupted';
    const { folder: _folder, ...identity } = run;
    return { summary: { ...identity, epochs: log.epochs.length, best_ema: bestEma, state }, reader, bestEpoch, curves };
  }

  async list(): Promise<RunSummary[]> {
    return Promise.all((await this.locate()).map(async (r) => (await this.summarize(r)).summary));
  }

  /** The run `id` (as listed), or null: ids are looked up, never turned into paths. */
  async find(id: string): Promise<{ folder: string; detail: () => Promise<RunDetail> } | null> {
    const run = (await this.locate()).find((r) => r.id === id);
    if (!run) return null;
    return { folder: run.folder, detail: () => this.detail(run) };
  }

  private async detail(run: RunLocation): Promise<RunDetail> {
    const { summary, reader, bestEpoch, curves } = await this.summarize(run);
    const checkpoints: CheckpointInfo[] = [];
    let earlyState: CheckpointRead['earlyStopping'] = null;
    let earlyFrom = -1;
    for (const name of [CHECKPOINT_FILES.final, CHECKPOINT_FILES.latest, CHECKPOINT_FILES.best]) {
      const file = path.join(run.folder, name);
      const info = await stat(file).catch(() => null);
      if (!info?.isFile()) continue;
      const read = await this.readCheckpoint(file, `${info.size}:${info.mtimeMs}`);
      checkpoints.push({ name, bytes: info.size, modified: info.mtime.toISOString(), epoch: read.epoch, best_ema: read.bestEma });
      // the early-stopping state of the newest checkpoint that runs on (final or latest; best is older)
      if (name !== CHECKPOINT_FILES.best && read.earlyStopping && info.mtimeMs > earlyFrom) {
        earlyState = read.earlyStopping;
        earlyFrom = info.mtimeMs;
      }
    }
    const logged = reader.summary().earlyStopping;
    const early_stopping: EarlyStoppingInfo | null = earlyState
      ? { metric: earlyState.metric, best: earlyState.bestValue, best_epoch: earlyState.bestEpoch, counter: earlyState.counter, patience: logged?.patience ?? null, stopped: earlyState.stopped }
      : null;
    const files = (await readdir(run.folder, { withFileTypes: true }).catch(() => [])).filter((e) => e.isFile() && !e.name.startsWith('.')).map((e) => e.name).sort();
    return { ...summary, best_epoch: bestEpoch, curves, checkpoints, early_stopping, files };
  }

  /** current_epoch, _best_ema and the early-stopping state of a checkpoint, cached by size and time. */
  private async readCheckpoint(file: string, key: string): Promise<CheckpointRead> {
    const cached = this.checkpoints.get(file);
    if (cached?.key === key) return cached;
    let read: CheckpointRead = { key, epoch: null, bestEma: null, earlyStopping: null };
    try {
      const fields = CheckpointFieldsSchema.safeParse(await readPthRecords(file));
      if (fields.success) {
        const early = EarlyStoppingStateSchema.safeParse(fields.data.nnunet_ts?.callbacks?.early_stopping);
        read = { key, epoch: fields.data.current_epoch, bestEma: fields.data._best_ema ?? null, earlyStopping: early.success ? early.data : null };
      }
    } catch {
      // being written or not a checkpoint: listed without its fields
    }
    this.checkpoints.set(file, read);
    return read;
  }
}

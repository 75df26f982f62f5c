/**
 * Which checkpoint to resume from. nnU-Net's `--c` takes the first file that exists in the order
 * final -> latest -> best (run/run_training.py); here the newest *readable* one by stored epoch wins, so a
 * truncated checkpoint_latest.pth (crash during save) falls back instead of failing the resume.
 */
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { UserError } from '../errors.js';
import { SCHEDULE_KEYS, type ScheduleSettings } from '../model/checkpoint.js';

export type CheckpointMeta = { current_epoch: number };

export type CheckpointChoice<M extends CheckpointMeta> = {
  path: string;
  meta: M;
  /** One line per unreadable candidate, naming the file, the error and the fallback. */
  warnings: string[];
};

/** Tie-break on equal epochs: final, then latest, then best, then anything else. */
const PREFERENCE = ['checkpoint_final.pth', 'checkpoint_latest.pth', 'checkpoint_best.pth'];

function rank(path: string): number {
  const i = PREFERENCE.indexOf(basename(path));
  return i === -1 ? PREFERENCE.length : i;
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * Read every existing candidate with `readMeta` (which throws on a corrupt file) and return the one with the
 * largest stored `current_epoch`. Null when no candidate exists; UserError when all existing ones are corrupt.
 */
export async function selectCheckpoint<M extends CheckpointMeta>(
  candidates: readonly string[],
  readMeta: (path: string) => Promise<M>,
): Promise<CheckpointChoice<M> | null> {
  const valid: { path: string; meta: M }[] = [];
  const corrupt: { path: string; reason: string }[] = [];
  for (const path of candidates) {
    if (!(await exists(path))) continue;
    try {
      const meta = await readMeta(path);
      if (!Number.isInteger(meta.current_epoch) || meta.current_epoch < 0) {
        throw new Error(`current_epoch is ${String(meta.current_epoch)}`);
      }
      valid.push({ path, meta });
    } catch (err) {
      corrupt.push({ path, reason: (err as Error).message });
    }
  }
  if (valid.length === 0) {
    if (corrupt.length === 0) return null;
    throw new UserError(`no usable checkpoint: ${corrupt.map((c) => `${c.path} is corrupt (${c.reason})`).join('; ')}`);
  }
  valid.sort((a, b) => b.meta.current_epoch - a.meta.current_epoch || rank(a.path) - rank(b.path));
  const chosen = valid[0];
  const warnings = corrupt.map(
    (c) => `${basename(c.path)} is corrupt (${c.reason}): using ${basename(chosen.path)} (epoch ${chosen.meta.current_epoch})`,
  );
  return { path: chosen.path, meta: chosen.meta, warnings };
}

export type ScheduleDifference = {
  setting: keyof ScheduleSettings;
  saved: ScheduleSettings[keyof ScheduleSettings];
  requested: ScheduleSettings[keyof ScheduleSettings];
};

/**
 * Settings that differ between a checkpoint and the requested run; empty when resuming is consistent. The world size
 * counts too (1 when a checkpoint predates it): the global batch is split over the ranks, so each rank's data
 * stream, and with it the run, depends on it.
 */
export function checkScheduleCompatibility(saved: ScheduleSettings, requested: ScheduleSettings): ScheduleDifference[] {
  const value = (s: ScheduleSettings, k: keyof ScheduleSettings) => (k === 'world_size' ? (s.world_size ?? 1) : s[k]);
  return SCHEDULE_KEYS.filter((k) => value(saved, k) !== value(requested, k)).map((k) => ({
    setting: k,
    saved: value(saved, k),
    requested: value(requested, k),
  }));
}

/** Refusal message for a resume whose schedule differs from the checkpoint's. */
export function scheduleMismatchMessage(checkpointPath: string, differences: readonly ScheduleDifference[]): string {
  const list = differences.map((d) => `${d.setting}: saved ${JSON.stringify(d.saved)}, requested ${JSON.stringify(d.requested)}`);
  return `${checkpointPath} was trained with a different schedule (${list.join('; ')}); resume with the saved settings, start a new run, or pass --allow-schedule-change to continue with the new ones (the LR schedule or the data stream changes)`;
}

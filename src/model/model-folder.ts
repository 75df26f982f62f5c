// nnU-Net's results layout, in one place: nnUNet_results/<Dataset>/<trainer>__<plans>__<configuration>/fold_<f>/
// with plans.json and dataset.json beside the folds and checkpoint_{final,best,latest}.pth inside them.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Fold } from '../data/splits.js';
import { UserError } from '../errors.js';

export type { Fold };

export const DEFAULT_TRAINER = 'nnUNetTrainer';
export const DEFAULT_PLANS = 'nnUNetPlans';

export const CHECKPOINT_FILES = {
  final: 'checkpoint_final.pth',
  latest: 'checkpoint_latest.pth',
  best: 'checkpoint_best.pth',
} as const;

export interface ModelIdentity {
  trainer: string;
  plans: string;
  configuration: string;
}

/** `<trainer>__<plans>__<configuration>`, upstream's model folder name. */
export function modelFolderName(id: ModelIdentity): string {
  return `${id.trainer}__${id.plans}__${id.configuration}`;
}

/** The inverse of modelFolderName; null for a folder that is not a model folder. */
export function parseModelFolderName(name: string): ModelIdentity | null {
  const parts = name.split('__');
  if (parts.length !== 3 || parts.some((p) => p.length === 0)) return null;
  return { trainer: parts[0], plans: parts[1], configuration: parts[2] };
}

export function modelFolder(resultsDatasetDir: string, id: ModelIdentity): string {
  return path.join(resultsDatasetDir, modelFolderName(id));
}

export function foldFolder(resultsDatasetDir: string, id: ModelIdentity, fold: Fold): string {
  return path.join(modelFolder(resultsDatasetDir, id), `fold_${fold}`);
}

/** nnU-Net's auto_detect_available_folds: fold_* folders holding the checkpoint. */
export async function detectFolds(folder: string, checkpointName: string): Promise<Fold[]> {
  let entries: string[];
  try {
    entries = await readdir(folder);
  } catch {
    throw new UserError(`${folder}: model folder does not exist`);
  }
  const folds: Fold[] = [];
  for (const name of entries.sort()) {
    const m = /^fold_(\d+|all)$/.exec(name);
    if (!m) continue;
    const files = await readdir(path.join(folder, name)).catch(() => [] as string[]);
    if (files.includes(checkpointName)) folds.push(m[1] === 'all' ? 'all' : Number(m[1]));
  }
  if (folds.length === 0) throw new UserError(`${folder}: no fold_X folder holds ${checkpointName}`);
  return folds;
}

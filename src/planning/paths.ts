/**
 * nnU-Net's three base folders (nnUNet_raw, nnUNet_preprocessed, nnUNet_results), taken from explicit
 * options or the environment, and dataset name resolution (`4` -> `Dataset004_Hippocampus`).
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';

export type BaseFolder = 'raw' | 'preprocessed' | 'results';

export const ENV_VARS: Record<BaseFolder, string> = {
  raw: 'nnUNet_raw',
  preprocessed: 'nnUNet_preprocessed',
  results: 'nnUNet_results',
};

/**
 * The absolute path of a base folder: `override` if given, else its environment variable.
 * Throws a UserError naming the variable when neither is set.
 */
export function baseFolder(which: BaseFolder, override?: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = override ?? env[ENV_VARS[which]];
  if (value === undefined || value.trim() === '') {
    throw new UserError(
      `${ENV_VARS[which]} is not set: export ${ENV_VARS[which]}=/path/to/folder or pass the folder as an option`,
    );
  }
  return path.resolve(value);
}

const DATASET_NAME = /^Dataset(\d{3})_[A-Za-z0-9_.-]+$/;

/** Folders in `dir` named Dataset<id, 3 digits>_*, sorted; none when `dir` does not exist. */
export async function datasetFoldersWithId(dir: string, id: number): Promise<string[]> {
  const prefix = `Dataset${String(id).padStart(3, '0')}_`;
  try {
    return (await readdir(dir, { withFileTypes: true }))
      .filter((e) => e.isDirectory() && e.name.startsWith(prefix) && DATASET_NAME.test(e.name))
      .map((e) => e.name)
      .sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/**
 * `idOrName` as a dataset folder name: a number (`4`, `004`) must match exactly one `DatasetXXX_*` folder in
 * `rawDir`; a full name (`Dataset004_Hippocampus`) is returned as given after checking its form.
 */
export async function resolveDatasetName(idOrName: string | number, rawDir: string): Promise<string> {
  const text = String(idOrName).trim();
  if (DATASET_NAME.test(text)) return text;
  if (!/^\d{1,3}$/.test(text)) {
    throw new UserError(`invalid dataset "${text}": give an id (e.g. 4 or 004) or a name like Dataset004_Hippocampus`);
  }
  const found = await datasetFoldersWithId(rawDir, Number(text));
  const pattern = `Dataset${text.padStart(3, '0')}_*`;
  if (found.length === 0) throw new UserError(`${rawDir}: no dataset folder ${pattern} for dataset id ${text}`);
  if (found.length > 1) {
    throw new UserError(`${rawDir}: dataset id ${text} is ambiguous: ${found.join(', ')}; pass the full name`);
  }
  return found[0];
}

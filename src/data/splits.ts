// splits_final.json: nnU-Net's 5-fold cross-validation split, created once per preprocessed dataset and reused.
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { UserError } from '../errors.js';
import { writeFileExclusive } from '../io/folder-lock.js';
import { LegacyRandomState } from './mt19937.js';

export const SplitsSchema = z.array(z.object({ train: z.array(z.string()), val: z.array(z.string()) }));
export type Splits = z.infer<typeof SplitsSchema>;
export type Fold = number | 'all';

/** sklearn KFold(n, shuffle=True, random_state=seed) over the sorted identifiers; train and val each sorted. */
export function makeKFoldSplits(identifiers: string[], numFolds = 5, seed = 12345): Splits {
  const keys = [...identifiers].sort();
  const order = new LegacyRandomState(seed).shuffle(keys.map((_, i) => i));
  const splits: Splits = [];
  let start = 0;
  for (let f = 0; f < numFolds; f++) {
    const size = Math.floor(keys.length / numFolds) + (f < keys.length % numFolds ? 1 : 0);
    const val = new Set(order.slice(start, start + size));
    start += size;
    splits.push({ train: keys.filter((_, i) => !val.has(i)), val: keys.filter((_, i) => val.has(i)) });
  }
  return splits;
}

/**
 * Reads splits_final.json from the preprocessed dataset folder, creating it on first use. Folds started at once race
 * to create it: the first writer wins (exclusive create) and the others read the winner's file, so all use one split.
 */
export async function loadOrCreateSplits(preprocessedDatasetDir: string, identifiers: string[]): Promise<Splits> {
  const file = path.join(preprocessedDatasetDir, 'splits_final.json');
  if (existsSync(file)) return readSplits(file);
  const splits = identifiers.length >= 5 ? makeKFoldSplits(identifiers) : [{ train: [...identifiers].sort(), val: [...identifiers].sort() }];
  if (await writeFileExclusive(file, new TextEncoder().encode(`${JSON.stringify(splits, null, 4)}\n`))) return splits;
  return readSplits(file);
}

async function readSplits(file: string): Promise<Splits> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new UserError(`${file}: not valid JSON (${(error as Error).message})`);
  }
  const result = SplitsSchema.safeParse(parsed);
  if (!result.success) throw new UserError(`${file}: not a list of {train, val} folds: ${z.prettifyError(result.error)}`);
  return result.data;
}

/** Train/val identifiers of one fold; `all` trains and validates on everything. */
export function foldCases(splits: Splits, fold: Fold, identifiers: string[]): { train: string[]; val: string[] } {
  if (fold === 'all') return { train: [...identifiers].sort(), val: [...identifiers].sort() };
  const split = splits[fold];
  if (!split) throw new UserError(`fold ${fold} does not exist: splits_final.json has ${splits.length} folds (0-${splits.length - 1})`);
  return split;
}

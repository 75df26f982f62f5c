// nnU-Net's three base folders, from flags or the nnUNet_raw / nnUNet_preprocessed / nnUNet_results variables.
import path from 'node:path';
import type { Command } from 'commander';
import { baseFolder, resolveDatasetName } from '../planning/paths.js';

export interface FolderOptions {
  raw?: string;
  preprocessed?: string;
  results?: string;
}

export function addFolderOptions(cmd: Command): Command {
  return cmd
    .option('--raw <dir>', 'nnUNet_raw folder (default: $nnUNet_raw)')
    .option('--preprocessed <dir>', 'nnUNet_preprocessed folder (default: $nnUNet_preprocessed)')
    .option('--results <dir>', 'nnUNet_results folder (default: $nnUNet_results)');
}

/** Resolves `-d 4` / `Dataset004_Hippocampus` against the raw folder, else the preprocessed one. */
export async function datasetName(id: string, folders: FolderOptions, prefer: 'raw' | 'preprocessed' = 'raw'): Promise<string> {
  const order: ('raw' | 'preprocessed')[] = prefer === 'raw' ? ['raw', 'preprocessed'] : ['preprocessed', 'raw'];
  let lastError: unknown;
  for (const which of order) {
    try {
      return await resolveDatasetName(id, baseFolder(which, folders[which]));
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

export function folder(which: 'raw' | 'preprocessed' | 'results', folders: FolderOptions, dataset: string): string {
  return path.join(baseFolder(which, folders[which]), dataset);
}

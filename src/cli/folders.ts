// nnU-Net's three base folders, from flags or the nnUNet_raw / nnUNet_preprocessed / nnUNet_results variables.
import path from 'node:path';
import type { Command } from 'commander';
import { type BaseFolder, baseFolder, resolveDatasetName } from '../planning/paths.js';

export interface FolderOptions {
  raw?: string;
  preprocessed?: string;
  results?: string;
}

const FOLDER_HELP: Record<BaseFolder, string> = {
  raw: 'nnUNet_raw folder (default: $nnUNet_raw)',
  preprocessed: 'nnUNet_preprocessed folder (default: $nnUNet_preprocessed)',
  results: 'nnUNet_results folder (default: $nnUNet_results)',
};

/** Adds --raw / --preprocessed / --results (those in `which`), each defaulting to its environment variable. */
export function addFolderOptions(cmd: Command, which: BaseFolder[] = ['raw', 'preprocessed', 'results']): Command {
  for (const w of which) cmd.option(`--${w} <dir>`, FOLDER_HELP[w]);
  return cmd;
}

/**
 * Resolves `-d 4` / `Dataset004_Hippocampus` against the base folders in `order`, the first that has it.
 * When none has it, the error is the one of the first folder: the one the command needs most.
 */
export async function datasetName(id: string, folders: FolderOptions, order: BaseFolder[]): Promise<string> {
  let firstError: unknown;
  for (const which of order) {
    try {
      return await resolveDatasetName(id, baseFolder(which, folders[which]));
    } catch (error) {
      firstError ??= error;
    }
  }
  throw firstError;
}

export function folder(which: BaseFolder, folders: FolderOptions, dataset: string): string {
  return path.join(baseFolder(which, folders[which]), dataset);
}

// How a command names a trained model: -m MODEL_FOLDER, or -d DATASET -c CONFIGURATION [-tr] [-p], with -f folds and
// the checkpoint name. Shared by predict and export-onnx so both resolve a model the same way.
import type { Command } from 'commander';
import { UserError } from '../errors.js';
import { DEFAULT_PLANS, DEFAULT_TRAINER, modelFolder } from '../model/model-folder.js';
import { datasetName, folder, type FolderOptions } from './folders.js';
import { fold } from './parse.js';

export interface ModelSelectionOptions extends FolderOptions {
  datasetId?: string;
  configuration?: string;
  model?: string;
  trainer: string;
  plans: string;
  folds?: (number | 'all')[];
  checkpoint: string;
}

/** Adds -d, -c, -m, --trainer, -p, -f (described as `foldsHelp`) and --checkpoint; `modelHelp` describes -m. */
export function addModelSelectionOptions(cmd: Command, help: { model: string; folds: string }): Command {
  return cmd
    .option('-d, --dataset-id <id>', 'dataset id or name, found in the results folder (with -c; or give -m)')
    .option('-c, --configuration <name>', 'configuration of the model: 2d, 3d_fullres, 3d_lowres, 3d_cascade_fullres (with -d)')
    .option('-m, --model <dir>', help.model)
    .option('--trainer <name>', 'trainer (-tr) the model was trained with (with -d/-c)', DEFAULT_TRAINER)
    .option('-p, --plans <name>', 'plans identifier (with -d/-c)', DEFAULT_PLANS)
    .option('-f, --folds <folds...>', help.folds, (v: string, prev: (number | 'all')[] = []) => [...prev, fold(v)])
    .option('--checkpoint <file>', 'checkpoint file name (-chk) in each fold folder', 'checkpoint_final.pth');
}

/** The model folder: -m as given, or <results>/<dataset>/<trainer>__<plans>__<configuration> from -d/-c. */
export async function resolveModelFolder(o: ModelSelectionOptions, command: string): Promise<string> {
  if (o.model) return o.model;
  if (!o.datasetId || !o.configuration) throw new UserError(`${command} needs -m MODEL_FOLDER, or -d DATASET and -c CONFIGURATION`);
  const name = await datasetName(o.datasetId, o, ['results', 'preprocessed', 'raw']);
  return modelFolder(folder('results', o, name), { trainer: o.trainer, plans: o.plans, configuration: o.configuration });
}

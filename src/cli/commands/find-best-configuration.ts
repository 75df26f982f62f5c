import { Command, Option } from 'commander';
import { DEFAULT_PLANS, DEFAULT_TRAINER } from '../../model/model-folder.js';
import { addFolderOptions, datasetName, folder, type FolderOptions } from '../folders.js';
import { nonNegativeInt, positiveInt } from '../parse.js';

interface FindBestCliOptions extends FolderOptions {
  configurations: string[];
  plans: string[];
  trainer: string[];
  folds?: number[];
  numProcesses: number;
  disableEnsembling?: boolean;
  overwrite: boolean;
}

const DEFAULT_CONFIGURATIONS = ['2d', '3d_fullres', '3d_lowres', '3d_cascade_fullres'];

export function findBestConfigurationCommand(): Command {
  const cmd = new Command('find-best-configuration')
    .summary('pick the best configuration or ensemble from the cross-validation, and its postprocessing')
    .description(
      'Scores every trained configuration on its merged 5-fold cross-validation and every pairwise ensemble of them (averaged ' +
        'validation probabilities: train with --npz), picks the best on foreground mean Dice, determines the postprocessing ' +
        '(keep the largest connected component), and writes inference_instructions.txt and inference_information.json in ' +
        'nnUNet_results/<dataset>/ (nnUNetv2_find_best_configuration)',
    )
    .argument('<dataset>', 'dataset id (4) or name (Dataset004_Hippocampus)')
    // shown as upstream spells the lists on its command line
    .addOption(new Option('-c, --configurations <names...>', 'configurations to consider; those not in the plans are skipped').default(DEFAULT_CONFIGURATIONS, DEFAULT_CONFIGURATIONS.join(' ')))
    .addOption(new Option('-p, --plans <names...>', 'plans identifiers to consider').default([DEFAULT_PLANS], DEFAULT_PLANS))
    .addOption(new Option('--trainer <names...>', 'trainers to consider (-tr); every trainer × configuration × plans is a model').default([DEFAULT_TRAINER], DEFAULT_TRAINER))
    .option('-f, --folds <folds...>', 'folds of the cross-validation (default: 0 1 2 3 4)', (v: string, prev: number[] = []) => [...prev, nonNegativeInt(v)])
    .option('--disable-ensembling', 'only single configurations, no ensembles (default: also every pair)')
    .option('--no-overwrite', 'keep merged and ensembled predictions already there (default: redo them)')
    .option('--num-processes <n>', 'cases read, postprocessed and evaluated at once (nnU-Net -np)', positiveInt, 4);
  return addFolderOptions(cmd).action(async (id: string, o: FindBestCliOptions) => {
    // libtorch loads when the command runs, not at startup: --help and usage errors answer at once
    const { findBestConfiguration, trainedModelsOf } = await import('../../evaluation/find-best-configuration.js');
    const name = await datasetName(id, o, ['results', 'preprocessed', 'raw']);
    let rawDatasetDir: string | undefined;
    try {
      rawDatasetDir = folder('raw', o, name);
    } catch {
      rawDatasetDir = undefined; // without nnUNet_raw, the cross-validation is scored against gt_segmentations
    }
    await findBestConfiguration({
      datasetName: name,
      resultsDatasetDir: folder('results', o, name),
      preprocessedDatasetDir: folder('preprocessed', o, name),
      rawDatasetDir,
      models: trainedModelsOf(o.trainer, o.configurations, o.plans),
      folds: o.folds ?? [0, 1, 2, 3, 4],
      allowEnsembling: !o.disableEnsembling,
      numProcesses: o.numProcesses,
      overwrite: o.overwrite,
    });
  });
}

import { existsSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { UserError } from '../../errors.js';
import { positiveInt } from '../parse.js';

interface ApplyPostprocessingCliOptions {
  input: string;
  output: string;
  ppPklFile: string;
  plansJson?: string;
  datasetJson?: string;
  numProcesses: number;
}

export function applyPostprocessingCommand(): Command {
  return new Command('apply-postprocessing')
    .summary('apply a postprocessing.pkl (from find-best-configuration) to a folder of predictions')
    .description(
      'Applies the postprocessing in a postprocessing.pkl, written by find-best-configuration or by nnU-Net, to every label ' +
        'map of a folder (nnUNetv2_apply_postprocessing). The pickle is read with an allow-list: only nnU-Net\'s postprocessing ' +
        'functions may be named in it',
    )
    .requiredOption('-i, --input <dir>', 'folder of predicted label maps (predict or ensemble output)')
    .requiredOption('-o, --output <dir>', 'folder for the postprocessed label maps (created)')
    .requiredOption('--pp-pkl-file <file>', 'postprocessing.pkl (nnU-Net -pp_pkl_file)')
    .option('--plans-json <file>', 'plans file of the model; only checked, as all label maps here are NIfTI (default: <input>/plans.json if present)')
    .option('--dataset-json <file>', 'dataset.json giving the file ending (default: <input>/dataset.json)')
    .option('--num-processes <n>', 'label maps processed at once (nnU-Net -np)', positiveInt, 4)
    .action(async (o: ApplyPostprocessingCliOptions) => {
      const { readPostprocessingPkl } = await import('../../postprocessing/postprocessing-pkl.js');
      const { applyPostprocessingToFolder } = await import('../../postprocessing/remove-components.js');
      const { loadDatasetJson } = await import('../../planning/dataset-json.js');
      const { readPlansFile } = await import('../../planning/plans-schema.js');
      if (!existsSync(o.input)) throw new UserError(`${o.input}: input folder not found`);
      const steps = await readPostprocessingPkl(o.ppPklFile);
      const datasetJsonFile = o.datasetJson ?? path.join(o.input, 'dataset.json');
      if (!existsSync(datasetJsonFile)) {
        throw new UserError(`${datasetJsonFile} not found: predict and ensemble put dataset.json into their output; otherwise pass --dataset-json (-dataset_json)`);
      }
      const plansFile = o.plansJson ?? path.join(o.input, 'plans.json');
      if (o.plansJson !== undefined || existsSync(plansFile)) await readPlansFile(plansFile);
      const datasetJson = await loadDatasetJson(datasetJsonFile);
      const files = await applyPostprocessingToFolder(o.input, o.output, steps, { fileEnding: datasetJson.file_ending, numWorkers: o.numProcesses });
      const what = steps.length ? steps.map((s) => `${s.fn}(${JSON.stringify(s.kwargs.labels_or_regions)})`).join(', ') : 'no postprocessing (the file lists none)';
      console.log(`postprocessed ${files.length} label map(s) into ${o.output}: ${what}`);
    });
}

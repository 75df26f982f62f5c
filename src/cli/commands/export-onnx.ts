import { Command } from 'commander';
import { UserError } from '../../errors.js';
import { DEFAULT_PLANS, DEFAULT_TRAINER, modelFolder } from '../../model/model-folder.js';
import { datasetName, folder, type FolderOptions } from '../folders.js';
import { fold } from '../parse.js';

interface ExportOnnxCliOptions extends FolderOptions {
  datasetId?: string;
  configuration?: string;
  model?: string;
  trainer: string;
  plans: string;
  folds?: (number | 'all')[];
  checkpoint: string;
  output: string;
}

export function exportOnnxCommand(): Command {
  return new Command('export-onnx')
    .summary('export a trained model to ONNX (model.onnx + model.json) for predict --backend onnx and the browser')
    .description(
      'Export a trained model to ONNX: DIR/model.onnx + DIR/model.json for one fold, DIR/fold_X/model.{onnx,json} for several. ' +
        'model.json holds everything prediction needs (plans configuration, labels, channels, normalization, spacing, transposes, patch size, mirror axes); ' +
        'no results folder is needed afterwards. Opset 17, one output (logits), dynamic batch and spatial sizes (multiples of the total stride).',
    )
    .requiredOption('-o, --output <dir>', 'export folder (created)')
    .option('-d, --dataset-id <id>', 'dataset id or name, found in the results folder (with -c; or give -m)')
    .option('-c, --configuration <name>', 'configuration of the model: 2d, 3d_fullres, 3d_lowres (with -d)')
    .option('-m, --model <dir>', 'model folder (<trainer>__<plans>__<config>) instead of -d/-c')
    .option('--trainer <name>', 'trainer (-tr) the model was trained with (with -d/-c)', DEFAULT_TRAINER)
    .option('-p, --plans <name>', 'plans identifier (with -d/-c)', DEFAULT_PLANS)
    .option('-f, --folds <folds...>', "folds to export (default: every fold with the checkpoint); 'all' for fold all", (v: string, prev: (number | 'all')[] = []) => [...prev, fold(v)])
    .option('--checkpoint <file>', 'checkpoint file name (-chk) in each fold folder', 'checkpoint_final.pth')
    .option('--results <dir>', 'nnUNet_results folder, to resolve -d (default: $nnUNet_results)')
    .option('--raw <dir>', 'nnUNet_raw folder, to resolve -d when the results folder lacks it (default: $nnUNet_raw)')
    .option('--preprocessed <dir>', 'nnUNet_preprocessed folder, to resolve -d likewise (default: $nnUNet_preprocessed)')
    .action(async (o: ExportOnnxCliOptions) => {
      // libtorch loads when the command runs, not at startup: --help and usage errors answer at once
      const { exportOnnx } = await import('../../deploy/export-onnx.js');
      let model = o.model;
      if (!model) {
        if (!o.datasetId || !o.configuration) throw new UserError('export-onnx needs -m MODEL_FOLDER, or -d DATASET and -c CONFIGURATION');
        const name = await datasetName(o.datasetId, o, ['results', 'preprocessed', 'raw']);
        model = modelFolder(folder('results', o, name), { trainer: o.trainer, plans: o.plans, configuration: o.configuration });
      }
      const written = await exportOnnx({ modelFolder: model, outputFolder: o.output, folds: o.folds, checkpointName: o.checkpoint });
      console.log(`exported ${written.length} fold(s) to ${o.output}${written.length > 1 ? ' (fold_X/model.onnx + model.json)' : ' (model.onnx + model.json)'}`);
    });
}

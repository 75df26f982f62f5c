import { Command } from 'commander';
import { addModelSelectionOptions, type ModelSelectionOptions, resolveModelFolder } from '../model-options.js';

interface ExportOnnxCliOptions extends ModelSelectionOptions {
  output: string;
}

export function exportOnnxCommand(): Command {
  const cmd = new Command('export-onnx')
    .summary('export a trained model to ONNX (model.onnx + model.json) for predict --backend onnx and the browser')
    .description(
      'Export a trained model to ONNX: DIR/model.onnx + DIR/model.json for one fold, DIR/fold_X/model.{onnx,json} for several. ' +
        'model.json holds everything prediction needs (plans configuration, labels, channels, normalization, spacing, transposes, patch size, mirror axes); ' +
        'no results folder is needed afterwards. Opset 17, one output (logits), dynamic batch and spatial sizes (multiples of the total stride).',
    )
    .requiredOption('-o, --output <dir>', 'export folder (created)');
  return addModelSelectionOptions(cmd, {
    model: 'model folder (<trainer>__<plans>__<config>) instead of -d/-c',
    folds: "folds to export (default: every fold with the checkpoint); 'all' for fold all",
  })
    .option('--results <dir>', 'nnUNet_results folder, to resolve -d (default: $nnUNet_results)')
    .option('--raw <dir>', 'nnUNet_raw folder, to resolve -d when the results folder lacks it (default: $nnUNet_raw)')
    .option('--preprocessed <dir>', 'nnUNet_preprocessed folder, to resolve -d likewise (default: $nnUNet_preprocessed)')
    .action(async (o: ExportOnnxCliOptions) => {
      // libtorch loads when the command runs, not at startup: --help and usage errors answer at once
      const { exportOnnx } = await import('../../deploy/export-onnx.js');
      const model = await resolveModelFolder(o, 'export-onnx');
      const written = await exportOnnx({ modelFolder: model, outputFolder: o.output, folds: o.folds, checkpointName: o.checkpoint });
      console.log(`exported ${written.length} fold(s) to ${o.output}${written.length > 1 ? ' (fold_X/model.onnx + model.json)' : ' (model.onnx + model.json)'}`);
    });
}

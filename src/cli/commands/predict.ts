import { existsSync } from 'node:fs';
import { Command, Option } from 'commander';
import { UserError } from '../../errors.js';
import { DEFAULT_PLANS, DEFAULT_TRAINER, modelFolder } from '../../model/model-folder.js';
import type { Device } from '../../torch/tensor.js';
import { datasetName, folder, type FolderOptions } from '../folders.js';
import { device, fold, fraction, positiveInt } from '../parse.js';
import { progressBar } from '../progress.js';

interface PredictCliOptions extends FolderOptions {
  input: string;
  output: string;
  datasetId?: string;
  configuration?: string;
  model?: string;
  trainer: string;
  plans: string;
  folds?: (number | 'all')[];
  checkpoint: string;
  stepSize: number;
  disableTta?: boolean;
  saveProbabilities?: boolean;
  overwrite?: boolean;
  device: Device;
  tileBatchSize?: number;
  backend: 'libtorch' | 'onnx';
  progress: boolean;
}

export function predictCommand(): Command {
  return new Command('predict')
    .summary('segment new images with a trained model')
    .description('Segment new images with a trained model, in their own geometry (nnUNetv2_predict). Give the model as -m MODEL_FOLDER or as -d DATASET -c CONFIGURATION.')
    .requiredOption('-i, --input <dir>', 'folder of images named <case>_0000.nii.gz, <case>_0001.nii.gz, ...')
    .requiredOption('-o, --output <dir>', 'folder for the label maps (created)')
    .option('-d, --dataset-id <id>', 'dataset id or name, found in the results folder (with -c; or give -m)')
    .option('-c, --configuration <name>', 'configuration of the model: 2d, 3d_fullres, 3d_lowres (with -d)')
    .option('-m, --model <dir>', 'model folder (<trainer>__<plans>__<config>) instead of -d/-c; with --backend onnx the export folder')
    .addOption(new Option('--backend <name>', 'libtorch, or onnx: run an `nnunet export-onnx` folder (-m) with onnxruntime on the CPU').choices(['libtorch', 'onnx']).default('libtorch'))
    .option('--trainer <name>', 'trainer (-tr) the model was trained with (with -d/-c)', DEFAULT_TRAINER)
    .option('-p, --plans <name>', 'plans identifier (with -d/-c)', DEFAULT_PLANS)
    .option('-f, --folds <folds...>', "folds to ensemble (default: every fold with the checkpoint); 'all' for fold all", (v: string, prev: (number | 'all')[] = []) => [...prev, fold(v)])
    .option('--checkpoint <file>', 'checkpoint file name in each fold folder', 'checkpoint_final.pth')
    .option('--step-size <s>', 'sliding-window step as a fraction of the patch size, in (0, 1]', fraction, 0.5)
    .option('--disable-tta', 'no mirroring test-time augmentation (faster, slightly worse; default: mirror)')
    .option('--save-probabilities', 'also write <case>.npz with softmax probabilities and <case>.json properties (for ensemble)')
    .option('--overwrite', 'predict cases whose output already exists (default: skip them)')
    .option('--device <device>', 'cpu, cuda or cuda:N', device, 'cpu')
    .option('--tile-batch-size <n>', 'sliding-window tiles per forward pass (default: 1 on cpu, 4 on cuda)', positiveInt)
    .option('--results <dir>', 'nnUNet_results folder, to resolve -d (default: $nnUNet_results)')
    .option('--raw <dir>', 'nnUNet_raw folder, to resolve -d when the results folder lacks it (default: $nnUNet_raw)')
    .option('--preprocessed <dir>', 'nnUNet_preprocessed folder, to resolve -d likewise (default: $nnUNet_preprocessed)')
    .option('--no-progress', 'no progress bar (default: a bar on a terminal, plain lines otherwise)')
    .action(async (o: PredictCliOptions) => {
      if (o.backend === 'onnx') return (await import('../../deploy/predict-onnx-cli.js')).predictOnnxCli(o);
      // libtorch loads when the command runs, not at startup: --help and usage errors answer at once
      const { predictCases } = await import('../../inference/predictor.js');
      let model = o.model;
      if (!model) {
        if (!o.datasetId || !o.configuration) throw new UserError('predict needs -m MODEL_FOLDER, or -d DATASET and -c CONFIGURATION');
        const name = await datasetName(o.datasetId, o, ['results', 'preprocessed', 'raw']);
        model = modelFolder(folder('results', o, name), { trainer: o.trainer, plans: o.plans, configuration: o.configuration });
      }
      if (!existsSync(o.input)) throw new UserError(`${o.input}: input folder not found`);
      if (!existsSync(model)) throw new UserError(`${model}: model folder not found${o.model ? '' : ' (train this dataset and configuration first)'}`);
      const bar = progressBar('predict', o.progress);
      const r = await predictCases({
        inputFolder: o.input,
        outputFolder: o.output,
        modelFolder: model,
        folds: o.folds,
        checkpointName: o.checkpoint,
        stepSize: o.stepSize,
        useMirroring: !o.disableTta,
        saveProbabilities: o.saveProbabilities,
        overwrite: o.overwrite,
        device: o.device,
        tileBatchSize: o.tileBatchSize,
        onProgress: (e) => bar.update(e.index + 1, e.total, e.caseId),
      });
      bar.stop();
      console.log(`predicted ${r.predicted.length} case(s) into ${o.output}${r.skipped.length ? `; skipped ${r.skipped.length} with existing output (--overwrite to redo)` : ''}`);
    });
}

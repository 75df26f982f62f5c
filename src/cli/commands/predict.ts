import { existsSync } from 'node:fs';
import { Command, Option } from 'commander';
import { UserError } from '../../errors.js';
import type { Device } from '../../torch/tensor.js';
import { addModelSelectionOptions, type ModelSelectionOptions, resolveModelFolder } from '../model-options.js';
import { device, fraction, positiveInt } from '../parse.js';
import { progressBar } from '../progress.js';

interface PredictCliOptions extends ModelSelectionOptions {
  input: string;
  output: string;
  stepSize: number;
  disableTta?: boolean;
  saveProbabilities?: boolean;
  overwrite?: boolean;
  device: Device;
  amp: boolean;
  deterministic?: boolean;
  tileBatchSize?: number;
  prevStagePredictions?: string;
  backend: 'libtorch' | 'onnx';
  progress: boolean;
}

export function predictCommand(): Command {
  const cmd = new Command('predict')
    .summary('segment new images with a trained model')
    .description('Segment new images with a trained model, in their own geometry (nnUNetv2_predict). Give the model as -m MODEL_FOLDER or as -d DATASET -c CONFIGURATION.')
    .requiredOption('-i, --input <dir>', 'folder of images named <case>_0000.nii.gz, <case>_0001.nii.gz, ...')
    .requiredOption('-o, --output <dir>', 'folder for the label maps (created)');
  return addModelSelectionOptions(cmd, {
    model: 'model folder (<trainer>__<plans>__<config>) instead of -d/-c; with --backend onnx the export folder',
    folds: "folds to ensemble (default: every fold with the checkpoint); 'all' for fold all",
  })
    .addOption(new Option('--backend <name>', 'libtorch, or onnx: run an `nnunet export-onnx` folder (-m) with onnxruntime on the CPU').choices(['libtorch', 'onnx']).default('libtorch'))
    .option('--step-size <s>', 'sliding-window step as a fraction of the patch size, in (0, 1]', fraction, 0.5)
    .option('--disable-tta', 'no mirroring test-time augmentation (faster, slightly worse; default: mirror)')
    .option('--save-probabilities', 'also write <case>.npz with softmax probabilities and <case>.json properties (for ensemble)')
    .option('--overwrite', 'predict cases whose output already exists (default: skip them)')
    .option('--device <device>', 'cpu, cuda or cuda:N', device, 'cpu')
    .option('--no-amp', 'float32 on CUDA instead of autocast + loss scaling (off on CPU anyway)')
    .option('--deterministic', 'cuDNN deterministic algorithms, no benchmarking: repeatable GPU runs, slower')
    .option('--prev-stage-predictions <dir>', "cascade (-prev_stage_predictions): folder of the previous stage's predictions <case>.nii.gz (default: run the previous stage's model first, into OUTPUT/prev_stage_<configuration>)")
    .option('--tile-batch-size <n>', 'sliding-window tiles per forward pass (default: 1 on cpu, 4 on cuda)', positiveInt)
    .option('--results <dir>', 'nnUNet_results folder, to resolve -d (default: $nnUNet_results)')
    .option('--raw <dir>', 'nnUNet_raw folder, to resolve -d when the results folder lacks it (default: $nnUNet_raw)')
    .option('--preprocessed <dir>', 'nnUNet_preprocessed folder, to resolve -d likewise (default: $nnUNet_preprocessed)')
    .option('--no-progress', 'no progress bar (default: a bar on a terminal, plain lines otherwise)')
    .action(async (o: PredictCliOptions) => {
      if (o.backend === 'onnx') return (await import('../../deploy/predict-onnx-cli.js')).predictOnnxCli(o);
      // libtorch loads when the command runs, not at startup: --help and usage errors answer at once
      const { predictCases } = await import('../../inference/predictor.js');
      const model = await resolveModelFolder(o, 'predict');
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
        amp: o.amp,
        deterministic: o.deterministic,
        tileBatchSize: o.tileBatchSize,
        previousStagePredictions: o.prevStagePredictions,
        onProgress: (e) => bar.update(e.index + 1, e.total, e.caseId),
      });
      bar.stop();
      const prev = r.previousStage;
      if (prev) console.log(prev.ranModel ? `cascade: ran the ${prev.configuration} model ${prev.ranModel} first; its predictions are in ${prev.folder}` : `cascade: used the ${prev.configuration} predictions in ${prev.folder} (-prev_stage_predictions)`);
      console.log(`predicted ${r.predicted.length} case(s) into ${o.output}${r.skipped.length ? `; skipped ${r.skipped.length} with existing output (--overwrite to redo)` : ''}`);
    });
}

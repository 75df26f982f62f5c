import { Command } from 'commander';
import { predictCases } from '../../inference/predictor.js';
import { modelFolder } from '../../training/trainer.js';
import { UserError } from '../../errors.js';
import { baseFolder } from '../../planning/paths.js';
import { datasetName, folder, type FolderOptions } from '../folders.js';
import { device, fold, nonNegativeNumber, positiveInt } from '../parse.js';
import { progressBar } from '../progress.js';

interface PredictCliOptions extends FolderOptions {
  input: string;
  output: string;
  datasetId?: string;
  configuration?: string;
  model?: string;
  plans: string;
  folds?: (number | 'all')[];
  checkpoint: string;
  stepSize: number;
  disableTta?: boolean;
  saveProbabilities?: boolean;
  overwrite?: boolean;
  device: string;
  tileBatchSize?: number;
  progress: boolean;
}

export function predictCommand(): Command {
  return new Command('predict')
    .description('Segment new images with a trained model, in their own geometry (nnUNetv2_predict)')
    .requiredOption('-i, --input <dir>', 'folder of images named <case>_0000.nii.gz, <case>_0001.nii.gz, ...')
    .requiredOption('-o, --output <dir>', 'folder for the label maps (created)')
    .option('-d, --dataset-id <id>', 'dataset id or name (with -c; or give -m)')
    .option('-c, --configuration <name>', '2d, 3d_fullres, 3d_lowres')
    .option('-m, --model <dir>', 'model folder (nnUNetTrainer__<plans>__<config>) instead of -d/-c')
    .option('-p, --plans <name>', 'plans identifier', 'nnUNetPlans')
    .option('-f, --folds <folds...>', "folds to ensemble (default: every fold with the checkpoint); 'all' for fold all", (v: string, prev: (number | 'all')[] = []) => [...prev, fold(v)])
    .option('--checkpoint <file>', 'checkpoint file name in each fold folder', 'checkpoint_final.pth')
    .option('--step-size <s>', 'sliding-window step as a fraction of the patch', nonNegativeNumber, 0.5)
    .option('--disable-tta', 'no mirroring test-time augmentation (faster, slightly worse)')
    .option('--save-probabilities', 'also write <case>.npz with softmax probabilities and <case>.json properties')
    .option('--overwrite', 'predict cases whose output already exists')
    .option('--device <device>', 'cpu, cuda or cuda:N', device, 'cpu')
    .option('--tile-batch-size <n>', 'tiles per forward pass', positiveInt)
    .option('--results <dir>', 'nnUNet_results folder (default: $nnUNet_results)')
    .option('--raw <dir>', 'nnUNet_raw folder (to resolve -d)')
    .option('--preprocessed <dir>', 'nnUNet_preprocessed folder (to resolve -d)')
    .option('--no-progress', 'no progress bar')
    .action(async (o: PredictCliOptions) => {
      let model = o.model;
      if (!model) {
        if (!o.datasetId || !o.configuration) throw new UserError('predict needs -m MODEL_FOLDER, or -d DATASET and -c CONFIGURATION');
        let name: string;
        try {
          name = await datasetName(o.datasetId, o, 'preprocessed');
        } catch {
          name = await (await import('../../planning/paths.js')).resolveDatasetName(o.datasetId, baseFolder('results', o.results));
        }
        model = modelFolder(folder('results', o, name), o.plans, o.configuration);
      }
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
        device: o.device as 'cpu',
        tileBatchSize: o.tileBatchSize,
        onProgress: (e) => bar.update(e.index + 1, e.total, e.caseId),
      });
      bar.stop();
      console.log(`predicted ${r.predicted.length} case(s) into ${o.output}${r.skipped.length ? `; skipped ${r.skipped.length} with existing output (--overwrite to redo)` : ''}`);
    });
}

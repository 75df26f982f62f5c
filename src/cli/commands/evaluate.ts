import { statSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { UserError } from '../../errors.js';
import { diceReport, evaluateWithDatasetJson } from '../evaluate-dataset.js';
import { nonNegativeInt, positiveInt } from '../parse.js';

interface EvaluateCliOptions {
  datasetJson: string;
  output?: string;
  ignoreLabel?: number;
  numProcesses: number;
  chill?: boolean;
  perCase?: boolean;
}

function assertFolder(dir: string, what: string): void {
  const stat = statSync(dir, { throwIfNoEntry: false });
  if (!stat) throw new UserError(`${dir}: ${what} folder not found`);
  if (!stat.isDirectory()) throw new UserError(`${dir}: the ${what} folder is not a folder`);
}

export function evaluateCommand(): Command {
  return new Command('evaluate')
    .summary('Dice and IoU of predictions against reference labels')
    .description('Dice, IoU and confusion counts per case and foreground class of predictions against references (nnUNetv2_evaluate_folder); writes summary.json as nnU-Net and prints a Dice table')
    .argument('<ref-dir>', 'folder with reference label files')
    .argument('<pred-dir>', 'folder with predicted label files (same names)')
    .requiredOption('--dataset-json <file>', 'dataset.json giving the labels and file ending (nnU-Net -djfile)')
    .option('-o, --output <file>', 'summary file (default: <pred-dir>/summary.json)')
    .option('--ignore-label <n>', 'reference label excluded from every metric (default: the "ignore" label of dataset.json, if any)', nonNegativeInt)
    .option('--num-processes <n>', 'cases read at once (nnU-Net -np)', positiveInt, 4)
    .option('--chill', 'allow references without a prediction; only predicted cases are evaluated (default: every reference needs one)')
    .option('--per-case', 'also print the Dice of every case (default: only the means)')
    .action(async (refDir: string, predDir: string, o: EvaluateCliOptions) => {
      assertFolder(refDir, 'reference');
      assertFolder(predDir, 'prediction');
      const outputFile = o.output ?? path.join(predDir, 'summary.json');
      const { summary, datasetJson } = await evaluateWithDatasetJson(refDir, predDir, o.datasetJson, { ignoreLabel: o.ignoreLabel, outputFile, numWorkers: o.numProcesses, chill: o.chill });
      console.log(diceReport(summary, datasetJson, o.perCase ?? false));
      console.log(`wrote ${outputFile}`);
    });
}

import { Command } from 'commander';
import { UserError } from '../../errors.js';
import { formatDiceTable } from '../../evaluation/dice-table.js';
import { evaluateFolder } from '../../evaluation/evaluate-folder.js';
import { labelValues, loadDatasetJson } from '../../planning/dataset-json.js';
import { nonNegativeInt, positiveInt } from '../parse.js';

export function evaluateCommand(): Command {
  return new Command('evaluate')
    .description('Dice, IoU and confusion counts per case and class of predictions against references (nnUNetv2_evaluate_folder); writes summary.json')
    .argument('<ref-dir>', 'folder with reference label files')
    .argument('<pred-dir>', 'folder with predicted label files (same names)')
    .requiredOption('--dataset-json <file>', 'dataset.json giving the labels and file ending')
    .option('-o, --output <file>', 'summary file (default: <pred-dir>/summary.json)')
    .option('--ignore-label <n>', 'reference label excluded from every metric', nonNegativeInt)
    .option('--num-processes <n>', 'cases read at once', positiveInt, 4)
    .option('--chill', 'allow references without a prediction')
    .option('--per-case', 'also print the Dice of every case')
    .action(async (refDir: string, predDir: string, o: { datasetJson: string; output?: string; ignoreLabel?: number; numProcesses: number; chill?: boolean; perCase?: boolean }) => {
      const dj = await loadDatasetJson(o.datasetJson);
      const labels = labelValues(dj);
      if (labels.length < 2) throw new UserError(`${o.datasetJson}: needs at least one foreground label`);
      const summary = await evaluateFolder(refDir, predDir, { labels, ignoreLabel: o.ignoreLabel, fileEnding: dj.file_ending, outputFile: o.output, numWorkers: o.numProcesses, chill: o.chill });
      const names = Object.fromEntries(Object.entries(dj.labels).map(([name, v]) => [String(v), name]));
      console.log(formatDiceTable(summary, { classNames: names, perCase: o.perCase }));
    });
}

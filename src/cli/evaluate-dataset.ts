// Predictions against references as nnUNetv2_evaluate_folder does it from a dataset.json: the foreground labels
// only (background and the "ignore" label left out), the ignore label's voxels excluded; and the Dice table.
import { formatDiceTable } from '../evaluation/dice-table.js';
import { type EvaluateFolderOptions, evaluateFolder } from '../evaluation/evaluate-folder.js';
import type { Summary } from '../evaluation/summary.js';
import { type DatasetJson, foregroundLabels, loadDatasetJson } from '../planning/dataset-json.js';
import { UserError } from '../errors.js';
import { labelOrRegionKey } from '../planning/labels.js';

export async function evaluateWithDatasetJson(
  refDir: string,
  predDir: string,
  datasetJsonFile: string,
  options: Pick<EvaluateFolderOptions, 'ignoreLabel' | 'outputFile' | 'numWorkers' | 'chill'> = {},
): Promise<{ summary: Summary; datasetJson: DatasetJson }> {
  const datasetJson = await loadDatasetJson(datasetJsonFile);
  const ignore = datasetJson.labels.ignore;
  const labels = foregroundLabels(datasetJson);
  if (labels.length === 0) throw new UserError(`${datasetJsonFile}: declares no foreground label to evaluate`);
  const summary = await evaluateFolder(refDir, predDir, { ...options, labels, ignoreLabel: options.ignoreLabel ?? ignore, fileEnding: datasetJson.file_ending });
  return { summary, datasetJson };
}

/** The Dice table with the class names of dataset.json; regions are named under their summary key ("(1, 2, 3)"). */
export function diceReport(summary: Summary, datasetJson: DatasetJson, perCase: boolean): string {
  const classNames = Object.fromEntries(Object.entries(datasetJson.labels).map(([name, v]) => [labelOrRegionKey(v), name]));
  return formatDiceTable(summary, { classNames, perCase, fileEnding: datasetJson.file_ending });
}

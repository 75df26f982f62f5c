// nnU-Net's determine_postprocessing (postprocessing/remove_connected_components.py): on a folder of cross-validation
// predictions, try "keep only the largest connected component", first for all foreground labels together, then for each
// label (or region) in dataset.json order, and keep each step only under upstream's rule:
// - the foreground step when it raises the foreground mean Dice and lowers no class's Dice;
// - a per-label step when it raises that label's Dice (each tried on the output of the steps kept so far).
// Writes postprocessing.pkl and postprocessing.json into the folder and the postprocessed cases into postprocessed/.
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../atomic-write.js';
import { evaluateFolder } from '../evaluation/evaluate-folder.js';
import type { ClassMetrics } from '../evaluation/metrics.js';
import { type PyJsonValue, stringifyPythonJson } from '../evaluation/python-json.js';
import { readSummaryJson, type Summary } from '../evaluation/summary.js';
import { type DatasetJson } from '../planning/dataset-json.js';
import { labelManagerFrom, labelOrRegionKey } from '../planning/labels.js';
import { writePostprocessingPkl } from './postprocessing-pkl.js';
import { type PostprocessingStep, applyPostprocessingToFolder, segmentationFiles } from './remove-components.js';

export interface DeterminePostprocessingOptions {
  datasetJson: DatasetJson;
  /** Names dataset.json in label errors. */
  datasetJsonFile?: string;
  numWorkers?: number;
  /** Default true: keep postprocessed/ (the cases with the chosen postprocessing and their summary.json). */
  keepPostprocessedFiles?: boolean;
  echo?: (line: string) => void;
}

export interface DeterminedPostprocessing {
  steps: PostprocessingStep[];
  before: Summary;
  after: Summary;
}

/** The summary parts postprocessing.json holds. */
function summaryPart(s: Summary): { foreground_mean: ClassMetrics; mean: Record<string, ClassMetrics> } {
  return { foreground_mean: s.foreground_mean, mean: s.mean };
}

const round5 = (x: number) => Math.round(x * 1e5) / 1e5;

/** postprocessing.json as upstream writes it: the scores before and after, the kept functions and their kwargs. */
export function postprocessingJson(before: Summary, after: Summary, steps: readonly PostprocessingStep[]): PyJsonValue {
  return {
    input_folder: summaryPart(before),
    postprocessed: summaryPart(after),
    postprocessing_fns: steps.map((s) => s.fn),
    postprocessing_kwargs: steps.map((s) => s.kwargs as unknown as PyJsonValue),
  };
}

export async function determinePostprocessing(predictionsDir: string, referenceDir: string, options: DeterminePostprocessingOptions): Promise<DeterminedPostprocessing> {
  const echo = options.echo ?? ((l: string) => console.log(l));
  const labels = labelManagerFrom(options.datasetJson, options.datasetJsonFile);
  const classes = labels.evaluationClasses;
  const fileEnding = options.datasetJson.file_ending;
  const evaluate = (dir: string): Promise<Summary> =>
    evaluateFolder(referenceDir, dir, { labels: classes, ignoreLabel: labels.ignoreLabel ?? undefined, fileEnding, outputFile: path.join(dir, 'summary.json'), numWorkers: options.numWorkers, chill: true });
  const apply = (from: string, to: string, steps: PostprocessingStep[]) => applyPostprocessingToFolder(from, to, steps, { fileEnding, numWorkers: options.numWorkers });

  const predicted = new Set(await segmentationFiles(predictionsDir, fileEnding));
  const references = await segmentationFiles(referenceDir, fileEnding);
  if (!references.every((r) => predicted.has(r))) {
    echo(`WARNING: not all cases of ${referenceDir} have a prediction in ${predictionsDir}; postprocessing should be determined on the whole dataset`);
  }
  const baselineFile = path.join(predictionsDir, 'summary.json');
  const baseline = existsSync(baselineFile) ? await readSummaryJson(baselineFile) : await evaluate(predictionsDir);

  const outputDir = path.join(predictionsDir, 'postprocessed');
  const temp = path.join(outputDir, 'temp');
  await rm(temp, { recursive: true, force: true });
  const steps: PostprocessingStep[] = [];

  const fgStep: PostprocessingStep = { fn: 'remove_all_but_largest_component_from_segmentation', kwargs: { labels_or_regions: [...labels.foregroundLabels] } };
  const fgDir = path.join(temp, 'keep_largest_fg');
  await apply(predictionsDir, fgDir, [fgStep]);
  const fg = await evaluate(fgDir);
  // defensive as upstream: a better mean is not enough when any single class got worse
  const fgHelps = fg.foreground_mean.Dice > baseline.foreground_mean.Dice && Object.keys(fg.mean).every((k) => !(fg.mean[k].Dice < baseline.mean[k].Dice));
  let source = predictionsDir;
  let sourceSummary = baseline;
  if (fgHelps) {
    echo(`Results were improved by removing all but the largest foreground region. Mean dice before: ${round5(baseline.foreground_mean.Dice)} after: ${round5(fg.foreground_mean.Dice)}`);
    steps.push(fgStep);
    source = fgDir;
    sourceSummary = fg;
  } else {
    echo('Removing all but the largest foreground region did not improve results!');
  }

  if (classes.length > 1) {
    const tryDir = path.join(temp, 'keep_largest_perClassOrRegion');
    const bestDir = path.join(temp, 'keep_largest_perClassOrRegion_currentBest');
    for (const labelOrRegion of classes) {
      const key = labelOrRegionKey(labelOrRegion);
      const step: PostprocessingStep = { fn: 'remove_all_but_largest_component_from_segmentation', kwargs: { labels_or_regions: labelOrRegion } };
      await rm(tryDir, { recursive: true, force: true });
      await apply(source, tryDir, [step]);
      const tried = await evaluate(tryDir);
      const before = sourceSummary.mean[key].Dice;
      const after = tried.mean[key].Dice;
      if (after > before) {
        echo(`Results were improved by removing all but the largest component for ${key}. Dice before: ${round5(before)} after: ${round5(after)}`);
        await rm(bestDir, { recursive: true, force: true });
        await rename(tryDir, bestDir);
        source = bestDir;
        sourceSummary = tried;
        steps.push(step);
      } else {
        echo(`Removing all but the largest component for ${key} did not improve results! Dice before: ${round5(before)} after: ${round5(after)}`);
      }
    }
  }

  // postprocessed/ gets the files of the chosen stage, its summary.json included, as upstream copies them
  await mkdir(outputDir, { recursive: true });
  for (const e of await readdir(source, { withFileTypes: true })) {
    if (e.isFile()) await copyFile(path.join(source, e.name), path.join(outputDir, e.name));
  }
  await writePostprocessingPkl(path.join(predictionsDir, 'postprocessing.pkl'), steps);
  const after = await readSummaryJson(path.join(outputDir, 'summary.json'));
  await writeFileAtomic(path.join(predictionsDir, 'postprocessing.json'), Buffer.from(stringifyPythonJson(postprocessingJson(baseline, after, steps)), 'utf8'));
  await rm(temp, { recursive: true, force: true });
  if (options.keepPostprocessedFiles === false) await rm(outputDir, { recursive: true, force: true });
  return { steps, before: baseline, after };
}

// A tiny generated dataset, planned and preprocessed, in a fresh temp folder per test file.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateSyntheticDataset } from '../../../src/cli/demo/synthetic-dataset.js';
import { planAndPreprocess } from '../../../src/preprocessing/plan-and-preprocess.js';

export interface TinyDataset {
  root: string;
  raw: string;
  preprocessed: string;
  results: string;
  datasetName: string;
  preprocessedDatasetDir: string;
  resultsDatasetDir: string;
}

export async function tinyDataset(options: { numTraining?: number; shape?: number[] } = {}): Promise<TinyDataset> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'nnunet-train-'));
  const raw = path.join(root, 'raw');
  const preprocessed = path.join(root, 'preprocessed');
  const results = path.join(root, 'results');
  const d = await generateSyntheticDataset({ rawDir: raw, numTraining: options.numTraining ?? 10, numTest: 0, shape: options.shape ?? [12, 24, 24], seed: 7 });
  await planAndPreprocess({ datasetId: d.datasetName, dirs: { raw, preprocessed }, configurations: ['3d_fullres'], numProcesses: 1 });
  return {
    root,
    raw,
    preprocessed,
    results,
    datasetName: d.datasetName,
    preprocessedDatasetDir: path.join(preprocessed, d.datasetName),
    resultsDatasetDir: path.join(results, d.datasetName),
  };
}

// A tiny generated dataset, planned and preprocessed, in a fresh temp folder per test file.
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateSyntheticDataset } from '../../../src/cli/demo/synthetic-dataset.js';
import { planAndPreprocess } from '../../../src/preprocessing/plan-and-preprocess.js';
import { type Tensor, dispose } from '../../../src/torch/index.js';
import { loadPth } from '../../../src/torch/serialization/pth-file.js';

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

/** Hash of a fold's checkpoint_final weights and optimizer momentum buffers: equal hashes, bitwise equal runs. */
export async function finalStateHash(foldDir: string): Promise<string> {
  const ckpt = (await loadPth(path.join(foldDir, 'checkpoint_final.pth'))) as {
    network_weights: Record<string, Tensor>;
    optimizer_state: { state: Map<number, Record<string, Tensor>> };
  };
  const h = createHash('sha256');
  for (const [k, t] of Object.entries(ckpt.network_weights)) h.update(k).update(t.toBuffer());
  for (const [i, s] of ckpt.optimizer_state.state) h.update(String(i)).update(s.momentum_buffer.toBuffer());
  dispose(ckpt);
  return h.digest('hex');
}

// A tiny isotropic dataset that the planner gives a 3d_lowres stage and a cascade: 28³ voxels at 1 mm, planned for a
// GPU memory target so small that the fullres patch (12³) covers under 25% of the image.
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateSyntheticDataset } from '../../../src/cli/demo/synthetic-dataset.js';
import { planAndPreprocess } from '../../../src/preprocessing/plan-and-preprocess.js';
import type { TinyDataset } from '../integration/fixture.js';

export interface CascadeDataset extends TinyDataset {
  testImagesDir: string;
}

export const GPU_MEMORY_TARGET_GB = 0.005;

export async function cascadeDataset(): Promise<CascadeDataset> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'nnunet-cascade-'));
  const raw = path.join(root, 'raw');
  const preprocessed = path.join(root, 'preprocessed');
  const d = await generateSyntheticDataset({ rawDir: raw, datasetId: 938, name: 'Cascade', numTraining: 5, numTest: 1, shape: [28, 28, 28], spacing: [1, 1, 1], seed: 7 });
  await planAndPreprocess({ datasetId: d.datasetName, dirs: { raw, preprocessed }, configurations: ['3d_fullres', '3d_lowres'], numProcesses: 1, gpuMemoryTargetGB: GPU_MEMORY_TARGET_GB });
  return {
    root,
    raw,
    preprocessed,
    results: path.join(root, 'results'),
    datasetName: d.datasetName,
    preprocessedDatasetDir: path.join(preprocessed, d.datasetName),
    resultsDatasetDir: path.join(root, 'results', d.datasetName),
    testImagesDir: d.testImagesDir,
  };
}

export function readPlans(d: CascadeDataset): { configurations: Record<string, Record<string, unknown>> } {
  return JSON.parse(readFileSync(path.join(d.preprocessedDatasetDir, 'nnUNetPlans.json'), 'utf8')) as { configurations: Record<string, Record<string, unknown>> };
}

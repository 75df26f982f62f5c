// nnUNetv2_ensemble (ensembling/ensemble.py): average the probabilities several prediction folders saved as .npz,
// turn them into labels with the dataset's label manager (argmax; for regions the sigmoid probabilities above 0.5
// painted in regions_class_order), and write the label maps with the geometry stored next to each .npz.
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';
import { writeNifti } from '../io/nifti.js';
import { readNpz, writeNpz } from '../io/npz.js';
import { writeFileAtomic } from '../atomic-write.js';
import { loadDatasetJson } from '../planning/dataset-json.js';
import { labelManagerFrom } from '../planning/labels.js';
import { readCaseProperties } from '../preprocessing/preprocessed-store.js';
import { type Tensor, dispose, tensor, tidy } from '../torch/index.js';

export interface EnsembleOptions {
  /** Also write the averaged probabilities (.npz) and properties (.json). */
  saveProbabilities?: boolean;
  onProgress?: (caseId: string, index: number, total: number) => void;
}

async function npzCases(dir: string): Promise<Set<string>> {
  try {
    return new Set((await readdir(dir)).filter((n) => n.endsWith('.npz') && !n.startsWith('.')).map((n) => n.slice(0, -4)));
  } catch {
    throw new UserError(`${dir}: prediction folder does not exist`);
  }
}

async function probabilitiesOf(dir: string, caseId: string): Promise<{ data: Float32Array; shape: number[] }> {
  const file = path.join(dir, `${caseId}.npz`);
  const probs = (await readNpz(file)).probabilities;
  if (!probs || !(probs.data instanceof Float32Array)) throw new UserError(`${file}: no float 'probabilities' array`);
  return { data: probs.data, shape: probs.shape };
}

/**
 * Ensembles the cases every folder has (each folder written with probabilities saved). The first folder's
 * dataset.json gives the file ending and the labels. Returns the ensembled cases and those missing from some folder.
 */
export async function ensembleFolders(inputDirs: string[], outputDir: string, options: EnsembleOptions = {}): Promise<{ ensembled: string[]; incomplete: string[] }> {
  if (inputDirs.length < 2) throw new UserError('ensembling needs at least two prediction folders');
  const datasetJsonFile = path.join(inputDirs[0], 'dataset.json');
  const datasetJson = await loadDatasetJson(datasetJsonFile);
  const labelManager = labelManagerFrom(datasetJson, datasetJsonFile);
  const perFolder = await Promise.all(inputDirs.map(npzCases));
  const all = new Set(perFolder.flatMap((s) => [...s]));
  const common = [...all].filter((c) => perFolder.every((s) => s.has(c))).sort();
  const incomplete = [...all].filter((c) => !common.includes(c)).sort();
  if (common.length === 0) throw new UserError(`no case has a .npz in every one of ${inputDirs.join(', ')} (predict with probabilities saved)`);
  await mkdir(outputDir, { recursive: true });
  for (const name of ['dataset.json', 'plans.json']) await copyFile(path.join(inputDirs[0], name), path.join(outputDir, name)).catch(() => undefined);

  for (const [index, caseId] of common.entries()) {
    const properties = await readCaseProperties(inputDirs[0], caseId);
    const arrays = await Promise.all(inputDirs.map((d) => probabilitiesOf(d, caseId)));
    const shapes = arrays.map((a) => a.shape.join('x'));
    if (new Set(shapes).size > 1) throw new UserError(`${caseId}: probability shapes differ between folders (${shapes.join(', ')})`);
    const { mean, labels } = tidy(() => {
      const sum = arrays.map((a) => tensor(a.data, a.shape)).reduce((acc, t) => acc.add_(t));
      const avg: Tensor = sum.div_(arrays.length);
      const labelTensor = labelManager.toSegmentation(avg, 'probabilities', 0).to(avg.size(0) <= 256 ? 'uint8' : 'int16');
      return { mean: avg, labels: labelTensor };
    });
    try {
      const base = path.join(outputDir, caseId);
      await writeNifti(base + datasetJson.file_ending, labels.toTypedArray() as Uint8Array | Int16Array, labels.shape, properties.nifti_header);
      if (options.saveProbabilities) {
        await writeNpz(`${base}.npz`, { probabilities: { data: mean.toTypedArray() as Float32Array, shape: mean.shape } });
        await writeFileAtomic(`${base}.json`, new TextEncoder().encode(JSON.stringify(properties)));
      }
    } finally {
      dispose([mean, labels]);
    }
    options.onProgress?.(caseId, index, common.length);
  }
  return { ensembled: common, incomplete };
}

/**
 * Worker thread of preprocessDataset: reads one case's NIfTI files, runs preprocessCase and writes the result
 * to the configuration's folder. Receives PreprocessTask messages, answers each with a PreprocessReply.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { readNifti } from '../io/nifti.js';
import type { DatasetJson } from '../planning/dataset-json.js';
import type { Plans } from '../planning/plans-schema.js';
import { preprocessCase } from './preprocess-case.js';
import { writePreprocessedCase } from './preprocessed-store.js';

export interface PreprocessWorkerData {
  plans: Plans;
  configurationName: string;
  datasetJson: Pick<DatasetJson, 'labels' | 'regions_class_order'>;
  outputDir: string;
  hash: string;
}
export interface PreprocessTask {
  caseId: string;
  images: string[];
  label: string;
}
export type PreprocessReply = { caseId: string; ok: true } | { caseId: string; ok: false; name: string; message: string };

const port = parentPort;
if (port === null) throw new Error('preprocess-worker must run in a worker thread');
const setup = workerData as PreprocessWorkerData;

port.on('message', (task: PreprocessTask) => {
  void (async (): Promise<PreprocessReply> => {
    try {
      const [seg, ...images] = await Promise.all([readNifti(task.label), ...task.images.map((f) => readNifti(f))]);
      const result = preprocessCase(images, seg, setup.plans, setup.configurationName, setup.datasetJson);
      if (result.seg === null) throw new Error('preprocessCase returned no segmentation for a training case');
      await writePreprocessedCase(setup.outputDir, task.caseId, {
        data: result.data,
        seg: result.seg,
        shape: result.shape,
        properties: { ...result.properties, preprocessing_hash: setup.hash },
      });
      return { caseId: task.caseId, ok: true };
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      return { caseId: task.caseId, ok: false, name: e.name, message: e.message };
    }
  })().then((reply) => port.postMessage(reply));
});

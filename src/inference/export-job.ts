// One case's export as plain data, so it can run on the calling thread or be posted to the export worker.
import { type LabelSource, labelManagerFrom } from '../planning/labels.js';
import type { Configuration, Plans } from '../planning/plans-schema.js';
import type { CaseProperties } from '../preprocessing/preprocessed-store.js';
import { Tensor, tidy } from '../torch/index.js';
import { type ExportProperties, type WritePredictionOptions, logitsToOriginal, writePrediction } from './export.js';

export interface ExportJob {
  /** Logits [K, ...preprocessed shape], C order. */
  logits: Float32Array;
  shape: number[];
  properties: ExportProperties & Pick<CaseProperties, 'nifti_header'>;
  plans: Plans;
  configuration: Configuration;
  /**
   * dataset.json's labels and regions_class_order: plain data that crosses to the worker, where the label manager
   * (softmax + argmax, or sigmoid + painting in regions_class_order) is built.
   */
  labels: LabelSource;
  /** Output path without the file ending. */
  outputBase: string;
  options: WritePredictionOptions;
}

export async function runExportJob(job: ExportJob): Promise<void> {
  const prediction = tidy(() =>
    logitsToOriginal(Tensor.fromBuffer(job.logits, job.shape, 'float32'), job.properties, job.plans, job.configuration, job.options.saveProbabilities ?? false, labelManagerFrom(job.labels)),
  );
  try {
    await writePrediction(job.outputBase, prediction, job.properties, job.options);
  } finally {
    prediction.segmentation.dispose();
    prediction.probabilities?.dispose();
  }
}

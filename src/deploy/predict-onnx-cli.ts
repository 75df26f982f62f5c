// `nnunet predict --backend onnx`: the predict command's options applied to an export folder. Options that only the
// libtorch backend has are refused rather than ignored.
import { existsSync } from 'node:fs';
import { progressBar } from '../cli/progress.js';
import { UserError } from '../errors.js';
import { predictOnnxCases } from './predict-onnx.js';

export interface PredictOnnxCliOptions {
  input: string;
  output: string;
  model?: string;
  datasetId?: string;
  configuration?: string;
  folds?: (number | 'all')[];
  stepSize: number;
  disableTta?: boolean;
  saveProbabilities?: boolean;
  overwrite?: boolean;
  device: string;
  tileBatchSize?: number;
  deterministic?: boolean;
  prevStagePredictions?: string;
  progress: boolean;
}

export async function predictOnnxCli(o: PredictOnnxCliOptions): Promise<void> {
  if (!o.model) throw new UserError('predict --backend onnx needs -m EXPORT_FOLDER (the folder `nnunet export-onnx -o` wrote)');
  const unsupported: [unknown, string][] = [
    [o.datasetId ?? o.configuration, '-d/-c (give the export folder as -m)'],
    [o.device !== 'cpu' ? o.device : undefined, '--device (the onnx backend runs on the CPU)'],
    [o.tileBatchSize, '--tile-batch-size'],
    [o.deterministic, '--deterministic (a cuDNN setting; onnxruntime runs on the CPU)'],
    [o.prevStagePredictions, '--prev-stage-predictions'],
  ];
  const given = unsupported.filter(([v]) => v !== undefined).map(([, name]) => name);
  if (given.length) throw new UserError(`predict --backend onnx does not take ${given.join(', ')}`);
  if (!existsSync(o.input)) throw new UserError(`${o.input}: input folder not found`);
  const bar = progressBar('predict (onnx)', o.progress);
  const r = await predictOnnxCases({
    inputFolder: o.input,
    outputFolder: o.output,
    exportFolder: o.model,
    folds: o.folds,
    stepSize: o.stepSize,
    useMirroring: !o.disableTta,
    saveProbabilities: o.saveProbabilities,
    overwrite: o.overwrite,
    onProgress: (e) => bar.update(e.index + 1, e.total, e.caseId),
  });
  bar.stop();
  console.log(`predicted ${r.predicted.length} case(s) into ${o.output} with the onnx backend${r.skipped.length ? `; skipped ${r.skipped.length} with existing output (--overwrite to redo)` : ''}`);
}

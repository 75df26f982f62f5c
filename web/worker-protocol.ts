// Messages between the segment page and its worker, which runs the whole segmentation (preprocessing, onnxruntime-web,
// export) so that the page stays responsive.
import type { RuntimeInfo } from './ort-runner.js';

export type ToWorker =
  | { type: 'load'; modelId: string; folds: { json: unknown; source: string; onnx: Uint8Array }[]; threads: number | null }
  | { type: 'segment'; channels: Uint8Array[]; names: string[]; tta: boolean; stepSize: number };

export type FromWorker =
  | { type: 'loaded'; modelId: string; info: RuntimeInfo; inputChannels: number; channelNames: string[] }
  | { type: 'progress'; done: number; total: number }
  | { type: 'done'; nifti: Uint8Array; labels: Record<string, number | number[]> }
  | { type: 'error'; message: string };

// The segment page's worker: holds the onnxruntime-web sessions of the chosen model and segments cases with the
// portable pipeline (src/portable, as `predict --backend onnx` in Node).
import { parseModelJson, segmentCase, type ModelJson } from '../src/portable/index.js';
import { createRunners, setThreads, type WebRunner } from './ort-runner.js';
import type { FromWorker, ToWorker } from './worker-protocol.js';

let model: { json: ModelJson; runners: WebRunner[] } | null = null;
const post = (message: FromWorker, transfer: Transferable[] = []) => (self as unknown as Worker).postMessage(message, transfer);

async function handle(message: ToWorker): Promise<void> {
  if (message.type === 'load') {
    await Promise.all(model?.runners.map((r) => r.release()) ?? []);
    model = null;
    setThreads(message.threads);
    const jsons = message.folds.map((f) => parseModelJson(f.json, f.source));
    const { runners, info } = await createRunners(message.folds.map((f, i) => ({ bytes: f.onnx, inputName: jsons[i].network.input_name, outputName: jsons[i].network.output_name, probeShape: [1, jsons[i].network.input_channels, ...jsons[i].network.total_stride] })), true);
    model = { json: jsons[0], runners };
    post({ type: 'loaded', modelId: message.modelId, info, inputChannels: jsons[0].network.input_channels, channelNames: Object.values(jsons[0].dataset.channel_names) });
    return;
  }
  if (!model) throw new Error('no model loaded');
  const result = await segmentCase(model.runners, model.json, message.channels, {
    tta: message.tta,
    stepSize: message.stepSize,
    names: message.names,
    onProgress: (done, total) => post({ type: 'progress', done, total }),
  });
  post({ type: 'done', nifti: result.nifti, labels: model.json.dataset.labels }, [result.nifti.buffer as ArrayBuffer]);
}

self.addEventListener('message', (e: MessageEvent<ToWorker>) => {
  handle(e.data).catch((err: unknown) => post({ type: 'error', message: err instanceof Error ? err.message : String(err) }));
});

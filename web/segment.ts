// The segment page: a NIfTI chosen here is preprocessed, run through the exported network tile by tile with
// onnxruntime-web and exported to a label NIfTI in the input's geometry, all in this browser, in a worker
// (segment-worker.ts runs src/portable, the code `nnunet predict --backend onnx` runs in Node). Nothing is uploaded.
// NiiVue shows the result where WebGL2 is available.
import type { ModelSummary } from '../src/serve/api-types.js';
import type { RuntimeInfo } from './ort-runner.js';
import { showInViewer } from './viewer.js';
import type { FromWorker, ToWorker } from './worker-protocol.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const input = $<HTMLInputElement>('volume-input');
const select = $<HTMLSelectElement>('model-select');
const button = $<HTMLButtonElement>('segment-button');
const status = $<HTMLSpanElement>('status');
const progress = $<HTMLProgressElement>('progress');
const runtime = $<HTMLDivElement>('runtime');
const download = $<HTMLAnchorElement>('segmentation-download');
const tta = $<HTMLInputElement>('tta');
const step = $<HTMLInputElement>('step');

// ?threads=N: the wasm thread count (benchmarks); default onnxruntime-web's choice
const threadsParam = Number(new URLSearchParams(location.search).get('threads'));
const threads = Number.isInteger(threadsParam) && threadsParam > 0 ? threadsParam : null;

let models: ModelSummary[] = [];
let loaded: { modelId: string; info: RuntimeInfo; inputChannels: number; channelNames: string[] } | null = null;
let worker: Worker | null = null;

function setStatus(text: string): void {
  status.textContent = text;
}

function refreshButton(): void {
  button.disabled = input.files === null || input.files.length === 0 || select.value === '';
}

/** `case_0000.nii.gz` → `case` (nnU-Net's channel suffix and the NIfTI ending dropped). */
function caseName(fileName: string): string {
  return fileName.replace(/\.nii(\.gz)?$/i, '').replace(/_\d{4}$/, '');
}

function describe(info: RuntimeInfo): string {
  const wasm = info.backend === 'wasm' ? `, ${info.threads} thread(s)${crossOriginIsolated ? '' : ' (not cross-origin isolated)'}` : '';
  return `onnxruntime-web on ${info.backend}${wasm}${info.fallback ? ` (WebGPU not used: ${info.fallback}; wasm is the fallback)` : ''}`;
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** Sends `message` and resolves with the worker's answer (`done`, `loaded`), reporting progress on the way. */
function ask(message: ToWorker, transfer: Transferable[]): Promise<FromWorker> {
  worker ??= new Worker('/assets/segment-worker.js', { type: 'module' });
  const w = worker;
  return new Promise((resolve, reject) => {
    const onMessage = (e: MessageEvent<FromWorker>) => {
      const m = e.data;
      if (m.type === 'progress') {
        progress.max = m.total;
        progress.value = m.done;
        setStatus(`segmenting… tile ${m.done} of ${m.total}`);
        return;
      }
      w.removeEventListener('message', onMessage);
      w.removeEventListener('error', onError);
      if (m.type === 'error') reject(new Error(m.message));
      else resolve(m);
    };
    const onError = (e: ErrorEvent) => {
      w.removeEventListener('message', onMessage);
      reject(new Error(e.message || 'the segmentation worker failed'));
    };
    w.addEventListener('message', onMessage);
    w.addEventListener('error', onError);
    w.postMessage(message, transfer);
  });
}

async function loadModel(summary: ModelSummary): Promise<NonNullable<typeof loaded>> {
  if (loaded?.modelId === summary.id) return loaded;
  loaded = null;
  setStatus(`loading ${summary.dataset} ${summary.configuration} (${summary.folds.length} fold(s))…`);
  const base = `/api/models/${summary.id}/files/`;
  const folds = await Promise.all(summary.files.map(async (f) => ({ json: JSON.parse(new TextDecoder().decode(await fetchBytes(base + f.json))) as unknown, source: f.json, onnx: await fetchBytes(base + f.onnx) })));
  const answer = await ask({ type: 'load', modelId: summary.id, folds, threads }, folds.map((f) => f.onnx.buffer as ArrayBuffer));
  if (answer.type !== 'loaded') throw new Error(`unexpected answer ${answer.type}`);
  loaded = answer;
  runtime.textContent = describe(answer.info);
  runtime.dataset.backend = answer.info.backend;
  runtime.dataset.threads = String(answer.info.threads);
  return answer;
}

async function segment(): Promise<void> {
  const files = [...(input.files ?? [])].sort((a, b) => a.name.localeCompare(b.name));
  const summary = models.find((m) => m.id === select.value);
  if (files.length === 0 || !summary) return;
  button.disabled = true;
  download.hidden = true;
  progress.value = 0;
  const started = performance.now();
  try {
    const model = await loadModel(summary);
    const loadedAt = performance.now();
    if (files.length !== model.inputChannels) throw new Error(`this model takes ${model.inputChannels} channel file(s) (${model.channelNames.join(', ')}); ${files.length} chosen`);
    const channels = await Promise.all(files.map(async (f) => new Uint8Array(await f.arrayBuffer())));
    setStatus('segmenting…');
    // the viewer needs the image after the worker took its copy
    const image = channels[0].slice();
    const answer = await ask({ type: 'segment', channels, names: files.map((f) => f.name), tta: tta.checked, stepSize: Number(step.value) || 0.5 }, channels.map((c) => c.buffer as ArrayBuffer));
    if (answer.type !== 'done') throw new Error(`unexpected answer ${answer.type}`);
    const name = `${caseName(files[0].name)}.nii.gz`;
    if (download.href) URL.revokeObjectURL(download.href);
    download.href = URL.createObjectURL(new Blob([answer.nifti as Uint8Array<ArrayBuffer>], { type: 'application/gzip' }));
    download.download = name;
    download.textContent = `${name} (${(answer.nifti.byteLength / 1024).toFixed(0)} KiB)`;
    download.hidden = false;
    const now = performance.now();
    // for benchmarks: the model download and session start, then the case itself
    runtime.dataset.loadSeconds = ((loadedAt - started) / 1000).toFixed(3);
    runtime.dataset.segmentSeconds = ((now - loadedAt) / 1000).toFixed(3);
    runtime.textContent = `${describe(model.info)} · ${((now - started) / 1000).toFixed(1)} s`;
    setStatus('done');
    await showInViewer(image, files[0].name, answer.nifti, answer.labels);
  } catch (err) {
    setStatus(`error: ${(err as Error).message}`);
  } finally {
    refreshButton();
  }
}

async function init(): Promise<void> {
  try {
    models = (await (await fetch('/api/models')).json()) as ModelSummary[];
  } catch (err) {
    setStatus(`error: cannot list the models (${(err as Error).message})`);
    return;
  }
  for (const m of models) {
    const option = document.createElement('option');
    option.value = m.id;
    option.textContent = `${m.dataset} · ${m.configuration} · ${m.trainer}__${m.plans} · fold ${m.folds.join(', ')}`;
    select.append(option);
  }
  if (models.length === 0) setStatus('no exported models: run `nnunet export-onnx`, then restart `nnunet serve` or pass --models');
  refreshButton();
}

input.addEventListener('change', refreshButton);
select.addEventListener('change', refreshButton);
button.addEventListener('click', () => void segment());
void init();

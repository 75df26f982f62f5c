// The portable pipeline's ModelRunner on onnxruntime-web: WebGPU where the browser has it (nodes its WebGPU kernels
// do not cover run on wasm), wasm otherwise. The wasm runtime is served by `nnunet serve` from the package.
import * as ort from 'onnxruntime-web/webgpu';
import type { ModelRunner } from '../src/portable/sliding-window.js';

ort.env.wasm.wasmPaths = '/assets/ort/';

/** Threads for the wasm backend; null: onnxruntime-web's own choice (half the logical cores, at most 4; 1 without cross-origin isolation). Before the first session only. */
export function setThreads(threads: number | null): void {
  if (threads !== null) ort.env.wasm.numThreads = threads;
}

export interface WebRunner extends ModelRunner {
  release(): Promise<void>;
}

export interface RuntimeInfo {
  backend: 'webgpu' | 'wasm';
  /** Why WebGPU is not used, when it is not. */
  fallback: string | null;
  threads: number;
}

async function webgpuUnavailable(): Promise<string | null> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) return 'this browser has no WebGPU';
  const adapter = await gpu.requestAdapter().catch(() => null);
  return adapter ? null : 'no WebGPU adapter (GPU) available';
}

export interface OnnxModel {
  bytes: Uint8Array;
  inputName: string;
  outputName: string;
  /** The smallest input the graph takes ([1, C, ...total stride]): WebGPU is tried on it before it is used. */
  probeShape: number[];
}

/** One run on zeros: kernels the WebGPU EP lacks for these shapes fail at run time, not when the session starts. */
async function probe(session: ort.InferenceSession, m: OnnxModel): Promise<void> {
  const size = m.probeShape.reduce((a, b) => a * b, 1);
  const out = await session.run({ [m.inputName]: new ort.Tensor('float32', new Float32Array(size), m.probeShape) });
  for (const t of Object.values(out)) t.dispose();
}

async function open(models: readonly OnnxModel[], backend: RuntimeInfo['backend'], fallback: string | null): Promise<{ runners: WebRunner[]; info: RuntimeInfo }> {
  const sessions: ort.InferenceSession[] = [];
  try {
    // nodes the WebGPU kernels do not cover run on wasm within the same session
    for (const m of models) {
      const session = await ort.InferenceSession.create(m.bytes, { executionProviders: backend === 'webgpu' ? ['webgpu', 'wasm'] : ['wasm'], graphOptimizationLevel: 'all' });
      sessions.push(session);
      // e.g. onnxruntime-web 1.30's WebGPU ConvTranspose is 1D/2D only: a 3D U-Net fails here and runs on wasm
      if (backend === 'webgpu') await probe(session, m);
    }
  } catch (err) {
    for (const s of sessions) await s.release();
    throw err;
  }
  const runners = sessions.map((session, i): WebRunner => ({
    async run(input, shape) {
      const out = await session.run({ [models[i].inputName]: new ort.Tensor('float32', input, shape) });
      const data = (await out[models[i].outputName].getData()) as Float32Array;
      for (const t of Object.values(out)) t.dispose();
      return data;
    },
    release: () => session.release(),
  }));
  // onnxruntime-web settles its thread count (0: its own choice) when the first session starts
  return { runners, info: { backend, fallback, threads: ort.env.wasm.numThreads ?? 1 } };
}

/** Sessions for each fold's ONNX model: WebGPU where the browser has it, else wasm, saying why. */
export async function createRunners(models: readonly OnnxModel[], preferGpu: boolean): Promise<{ runners: WebRunner[]; info: RuntimeInfo }> {
  const unavailable = preferGpu ? await webgpuUnavailable() : 'WebGPU not requested';
  if (unavailable !== null) return open(models, 'wasm', unavailable);
  try {
    return await open(models, 'webgpu', null);
  } catch (err) {
    return open(models, 'wasm', `WebGPU could not run this network (${(err as Error).message})`);
  }
}

// The portable pipeline's ModelRunner on onnxruntime-node (CPU execution provider, bundled in the npm package).
import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { UserError } from '../errors.js';
import type { ModelRunner } from '../portable/sliding-window.js';

export interface OnnxRunner extends ModelRunner {
  release(): Promise<void>;
}

export interface OnnxRunnerOptions {
  /** Input and output value names (model.json's network.input_name / output_name). */
  inputName: string;
  outputName: string;
  /** onnxruntime's intra-op threads; default: its own choice (the physical cores). */
  threads?: number;
}

/** A runner over an ONNX model (file path or bytes). */
export async function createOnnxRunner(model: string | Uint8Array, options: OnnxRunnerOptions): Promise<OnnxRunner> {
  let bytes: Uint8Array;
  if (typeof model === 'string') {
    try {
      bytes = await readFile(model);
    } catch (err) {
      throw new UserError(`${model}: cannot read the ONNX model (${(err as Error).message})`);
    }
  } else bytes = model;
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      ...(options.threads ? { intraOpNumThreads: options.threads } : {}),
    });
  } catch (err) {
    throw new UserError(`${typeof model === 'string' ? model : 'ONNX model'}: onnxruntime cannot load it (${(err as Error).message})`);
  }
  return {
    async run(input, shape) {
      const feeds = { [options.inputName]: new ort.Tensor('float32', input, shape) };
      const out = await session.run(feeds);
      const logits = out[options.outputName];
      const data = logits.data as Float32Array;
      for (const t of Object.values(out)) if (t !== logits) t.dispose();
      return data;
    },
    release: () => session.release(),
  };
}

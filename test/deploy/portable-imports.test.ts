// src/portable/ must run in the browser: bundled for the browser platform it may pull in no node:* module, no engine
// (src/torch/) code and no package beyond fflate and zod, and the bundle must segment a case in a context that has
// the browser's globals but none of Node's (no Buffer, process or require).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { build } from 'esbuild';
import { createHeader } from '../../src/io/nifti-header.js';
import { encodeNifti } from '../../src/portable/nifti.js';
import { segmentCase } from '../../src/portable/segment.js';
import { tinyModelJson, toyRunner } from './fixtures.js';

const entry = fileURLToPath(new URL('../../src/portable/index.ts', import.meta.url));

test('src/portable bundles for the browser without node:*, the engine or other packages', async () => {
  const result = await build({ entryPoints: [entry], bundle: true, platform: 'browser', format: 'esm', write: false, metafile: true, logLevel: 'silent' });
  const inputs = Object.keys(result.metafile.inputs);
  assert.ok(inputs.some((f) => f.endsWith('src/portable/segment.ts')), 'the bundle holds the pipeline');
  assert.deepEqual(inputs.filter((f) => f.startsWith('node:') || f.includes('src/torch/') || f.includes('native/')), []);
  const packages = new Set(inputs.filter((f) => f.includes('node_modules/')).map((f) => /node_modules\/((@[^/]+\/)?[^/]+)/.exec(f)?.[1]));
  assert.deepEqual([...packages].sort(), ['fflate', 'zod']);
});

test('the browser bundle segments a case without Node globals, byte for byte as in Node', async () => {
  const bundle = await build({ entryPoints: [entry], bundle: true, platform: 'browser', format: 'iife', globalName: 'portable', write: false, logLevel: 'silent' });
  const shape = [9, 11, 10];
  const voxels = Float32Array.from({ length: 990 }, (_, i) => (i % 7) * ((i % 13) > 2 ? 1 : 0) + Math.sin(i));
  const affine = [[0, 0, 1.1, 3], [0, 0.9, 0, -2], [2.5, 0, 0, 1], [0, 0, 0, 1]];
  const file = encodeNifti(voxels, shape, createHeader({ shape, affine, dtype: 'float32' }), { gzip: true });
  const model = tinyModelJson();
  const expected = await segmentCase(toyRunner(model.network.num_classes), model, [file], { stepSize: 0.5 });

  // what a browser tab has beside ECMAScript itself; Buffer, process and require are absent
  const context = vm.createContext({ TextEncoder, TextDecoder, console, performance, queueMicrotask });
  vm.runInContext(bundle.outputFiles[0].text, context);
  context.input = { file: Array.from(file), model: JSON.stringify(model) };
  // results cross the realm boundary as JSON: arrays of another realm are not deep-equal to this one's
  const got = JSON.parse(await vm.runInContext(
    `(async () => {
      const toyRunner = ${toyRunner.toString()};
      const model = portable.parseModelJson(JSON.parse(input.model), 'model.json');
      const r = await portable.segmentCase(toyRunner(model.network.num_classes), model, [new Uint8Array(input.file)], { stepSize: 0.5 });
      return JSON.stringify({ nifti: Array.from(r.nifti), segmentation: Array.from(r.segmentation), shape: r.shape });
    })()`,
    context,
  )) as { nifti: number[]; segmentation: number[]; shape: number[] };
  assert.deepEqual(got.shape, expected.shape);
  assert.deepEqual(got.segmentation, Array.from(expected.segmentation));
  assert.deepEqual(got.nifti, Array.from(expected.nifti));
  assert.ok(new Set(got.segmentation).size > 1, 'the toy model segments more than one label');
});

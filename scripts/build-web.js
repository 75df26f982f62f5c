// Bundles the web app (web/*.ts) with esbuild into dist/web/, with every asset from node_modules: the pages, the
// stylesheet, and onnxruntime-web's wasm runtime (served by `nnunet serve`; nothing is fetched from a CDN).
// usage: node scripts/build-web.js [OUT_DIR]   (default dist/web; the browser tests build into their own folder)
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const web = path.join(root, 'web');
const out = process.argv[2] ? path.resolve(process.argv[2]) : path.join(root, 'dist', 'web');
const assets = path.join(out, 'assets');
mkdirSync(path.join(assets, 'ort'), { recursive: true });

await build({
  entryPoints: ['runs.ts', 'segment.ts', 'segment-worker.ts'].map((f) => path.join(web, f)),
  outdir: assets,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  // onnxruntime-web without its inlined wasm: the runtime files are copied below and served next to the bundle
  conditions: ['onnxruntime-web-use-extern-wasm'],
  logLevel: 'warning',
});

for (const f of readdirSync(web).filter((n) => n.endsWith('.html'))) copyFileSync(path.join(web, f), path.join(out, f));
copyFileSync(path.join(web, 'style.css'), path.join(assets, 'style.css'));
// the WebGPU build of onnxruntime-web (wasm EP included) loads this pair
const ortDist = path.join(root, 'node_modules', 'onnxruntime-web', 'dist');
for (const f of ['ort-wasm-simd-threaded.asyncify.mjs', 'ort-wasm-simd-threaded.asyncify.wasm']) copyFileSync(path.join(ortDist, f), path.join(assets, 'ort', f));
console.log(`web app bundled into ${path.relative(root, out)}`);

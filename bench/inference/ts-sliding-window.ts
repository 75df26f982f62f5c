// The TypeScript side of sliding-window.bench.ts: one process per setting, so peak RSS belongs to that setting.
// Usage: node --import tsx bench/inference/ts-sliding-window.ts <work dir> <tta 0|1>; prints one JSON line.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadModel } from '../../src/inference/load-model.js';
import { predictLogits } from '../../src/inference/predictor.js';
import { readNpy, writeNpy } from '../../src/io/npz.js';
import { tensor, tidy } from '../../src/torch/index.js';

const [work, tta] = [process.argv[2], process.argv[3] === '1'];
const bench = JSON.parse(readFileSync(path.join(work, 'bench.json'), 'utf8')) as { cases: string[]; tile_batch_size: number };
const model = await loadModel(path.join(work, 'model'), { folds: [0] });
const seconds: number[] = [];
const input = async (c: string) => {
  const x = await readNpy(path.join(work, `${c}.npy`));
  return { data: x.data as Float32Array, shape: x.shape };
};
// warm-up (oneDNN primitive creation, allocator), untimed, as on the PyTorch side
const first = await input(bench.cases[0]);
tidy(() => predictLogits(model, tensor(first.data, first.shape), { useMirroring: false, tileBatchSize: bench.tile_batch_size }));
for (const c of bench.cases) {
  const x = await input(c);
  const t0 = performance.now();
  const logits = tidy(() => predictLogits(model, tensor(x.data, x.shape), { useMirroring: tta, tileBatchSize: bench.tile_batch_size }));
  seconds.push((performance.now() - t0) / 1000);
  await writeNpy(path.join(work, `${c}_logits_ts_${Number(tta)}.npy`), { data: logits.toTypedArray() as Float32Array, shape: logits.shape });
  logits.dispose();
}
model.dispose();
console.log(JSON.stringify({ seconds, peak_rss_mb: process.resourceUsage().maxRSS / 1024 }));

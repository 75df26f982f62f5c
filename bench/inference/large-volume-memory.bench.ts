// Peak memory of predicting a large multi-class case: a generated CT-like volume of 200 × 320 × 320 voxels and
// 14 classes through a small random PlainConvUNet, once by the plain path (the whole logits volume, then softmax
// and argmax over it: predictSlidingWindow + logitsToOriginal) and once in slabs (forEachLogitSlab +
// segmentationFromSlabs: never all 14 maps of the volume at once). Each path runs in its own process, so peak RSS
// is its own; the labels of both are compared voxel for voxel. The bound is one float32 copy of the 14 class maps.
// usage: node --import tsx bench/inference/large-volume-memory.bench.ts [threads]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { canExportInSlabs, logitsToOriginal, segmentationFromSlabs } from '../../src/inference/export.js';
import { forEachLogitSlab, predictSlidingWindow } from '../../src/inference/sliding-window.js';
import { type Plans, resolveConfiguration } from '../../src/planning/plans-schema.js';
import { Generator, type Tensor, arange, randn, tidy } from '../../src/torch/index.js';
import { userEnvironment } from '../../src/torch/native.js';
import { tinyUNet } from '../../test/inference/helpers.js';
import { tinyPlans } from '../../test/inference/model-fixture.js';

const SHAPE = [200, 320, 320];
const CLASSES = 14;
const PATCH = [48, 128, 128];
const here = fileURLToPath(import.meta.url);
const repo = path.resolve(path.dirname(here), '../..');

/** A CT-like volume: air around an elliptic body of soft tissue with a spine-like bright rod and darker organs. */
function ctLike(): Tensor {
  return tidy(() => {
    const [z, y, x] = SHAPE.map((n, a) => arange(0, n).float().sub(n / 2).div(n / 2).reshape(SHAPE.map((_, b) => (b === a ? n : 1))));
    const body = y.square().mul(1.6).add(x.square()).lt(0.8);
    const spine = y.sub(0.45).square().add(x.square()).lt(0.01);
    const organ = y.add(0.1).square().add(x.sub(0.3).square()).add(z.square().mul(0.3)).lt(0.08);
    const hu = body.float().mul(1040).sub(1000).add(spine.float().mul(700)).sub(organ.float().mul(60));
    return hu.add(randn(SHAPE, new Generator(3)).mul(20)).div(400).unsqueeze(0).contiguous();
  });
}

function runPath(mode: 'plain' | 'slabs', out: string): void {
  const data = ctLike();
  const network = tinyUNet(3, 1, CLASSES, 1);
  const plans: Plans = tinyPlans([0, 1, 2]);
  const configuration = resolveConfiguration(plans, '3d_fullres');
  const properties = {
    spacing: [1, 1, 1],
    shape_before_cropping: SHAPE,
    bbox_used_for_cropping: SHAPE.map((n): [number, number] => [0, n]),
    shape_after_cropping_and_before_resampling: SHAPE,
  };
  const options = { patchSize: PATCH, numClasses: CLASSES, tileBatchSize: 1 };
  const started = performance.now();
  const labels = tidy(() => {
    if (mode === 'plain') return logitsToOriginal(predictSlidingWindow(network, data, options), properties, plans, configuration, false).segmentation;
    if (!canExportInSlabs(SHAPE, properties)) throw new Error('the case needs resampling');
    return segmentationFromSlabs((emit) => forEachLogitSlab(network, data, options, emit), CLASSES, properties, plans);
  });
  writeFileSync(out, labels.toBuffer());
  console.log(JSON.stringify({ seconds: (performance.now() - started) / 1000, peak_rss_mb: process.resourceUsage().maxRSS / 1024 }));
}

const [mode, out] = process.argv.slice(2);
if (mode === 'plain' || mode === 'slabs') {
  runPath(mode, out);
} else {
  const threads = Number(process.argv[2] ?? 2);
  const work = mkdtempSync(path.join(tmpdir(), 'nnunet-bench-memory-'));
  try {
    const bound = (CLASSES * SHAPE.reduce((a, b) => a * b) * 4) / 2 ** 20;
    const results = (['plain', 'slabs'] as const).map((m) => {
      const file = path.join(work, `${m}.bin`);
      const r = spawnSync(process.execPath, ['--import', 'tsx', here, m, file], { cwd: repo, encoding: 'utf8', env: { ...userEnvironment(), NNUNET_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) } });
      if (r.status !== 0) throw new Error(`${m} path failed:\n${r.stderr}`);
      return { mode: m, ...(JSON.parse(r.stdout.trim().split('\n').pop() as string) as { seconds: number; peak_rss_mb: number }), labels: readFileSync(file) };
    });
    const [plain, slabs] = results;
    console.log(`case ${SHAPE.join(' x ')}, ${CLASSES} classes, patch ${PATCH.join(' x ')}, ${threads} threads; bound: one float32 copy of the class maps = ${bound.toFixed(0)} MiB`);
    for (const r of results) console.log(`  ${r.mode.padEnd(6)} peak RSS ${r.peak_rss_mb.toFixed(0).padStart(5)} MiB (${(r.peak_rss_mb / bound).toFixed(2)}× the bound), ${r.seconds.toFixed(1)} s`);
    const differing = plain.labels.reduce((n, v, i) => n + (v === slabs.labels[i] ? 0 : 1), 0);
    console.log(`  labels: ${differing === 0 ? 'identical' : `${differing} voxels differ`} (${plain.labels.length} voxels); slabs ${slabs.peak_rss_mb < bound ? 'below' : 'ABOVE'} the bound; time ratio slabs/plain ${(slabs.seconds / plain.seconds).toFixed(2)}`);
    if (differing !== 0 || slabs.peak_rss_mb >= bound) process.exitCode = 1;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

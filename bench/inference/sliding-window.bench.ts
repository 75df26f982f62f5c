// Sliding-window inference, nnunet-ts vs PyTorch (reference python), on Dataset004 cases with the 3d_fullres
// Hippocampus network (random weights: speed does not depend on training). Both sides read the same preprocessed
// cases and the same checkpoint, run with the same thread count, one process per setting (so peak RSS is per
// setting), and their logits are compared. nnunet-ts runs under each allocator setting (bench/allocator-settings.ts:
// before/after in one run); `rounds` rounds alternate the sides A B A B and the figures are medians over all cases and
// rounds. Usage: node --import tsx bench/inference/sliding-window.bench.ts [cases] [threads] [after,before] [rounds]
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readNifti } from '../../src/io/nifti.js';
import { readNpy, writeNpy } from '../../src/io/npz.js';
import { median } from '../../src/planning/fingerprint.js';
import { preprocessCase } from '../../src/preprocessing/preprocess-case.js';
import { tensor, tidy } from '../../src/torch/index.js';
import { userEnvironment } from '../../src/torch/native.js';
import { TINY_DATASET_JSON, tinyPlans, writeTinyModel } from '../../test/inference/model-fixture.js';
import { allocatorSettings } from '../allocator-settings.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const dataset = path.resolve(repo, '../shared/data/Dataset004_Hippocampus');
const PYTHON = '/usr/bin/python3';
const numCases = Number(process.argv[2] ?? 4);
const threads = Number(process.argv[3] ?? 2);
const settings = allocatorSettings(process.argv[4] ?? 'after,before');
const rounds = Number(process.argv[5] ?? 3);
const TILE_BATCH = 1;

// nnU-Net's Dataset004 3d_fullres plans: patch [40, 56, 40], spacing 1 mm, 4 stages of 32..256 features.
const STRIDES = [[1, 1, 1], [2, 2, 2], [2, 2, 2], [2, 2, 2]];
const N_CONV = [2, 2, 2, 2];
const N_CONV_DECODER = [2, 2, 2];
function hippocampusPlans() {
  const plans = tinyPlans([0, 1, 2]);
  const c = plans.configurations['3d_fullres'];
  Object.assign(c, { patch_size: [40, 56, 40], spacing: [1, 1, 1], median_image_size_in_voxels: [36, 50, 35] });
  Object.assign(c.architecture!.arch_kwargs, {
    n_stages: 4,
    features_per_stage: [32, 64, 128, 256],
    kernel_sizes: STRIDES.map(() => [3, 3, 3]),
    strides: STRIDES,
    n_conv_per_stage: N_CONV,
    n_conv_per_stage_decoder: N_CONV_DECODER,
  });
  return plans;
}

function run(cmd: string, args: string[], extraEnv: Record<string, string> = {}): { seconds: number[]; peak_rss_mb: number } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: repo, env: { ...userEnvironment(), NNUNET_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads), ...extraEnv } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string);
}

if (!existsSync(dataset)) {
  console.log(`skipped: ${dataset} not found`);
  process.exit(0);
}
const work = await mkdtemp(path.join(tmpdir(), 'nnunet-bench-inference-'));
try {
  const plans = hippocampusPlans();
  await writeTinyModel(path.join(work, 'model'), [0], plans);
  const cases = ['hippocampus_001', 'hippocampus_003', 'hippocampus_004', 'hippocampus_006', 'hippocampus_007'].slice(0, numCases);
  const shapes: string[] = [];
  for (const c of cases) {
    const image = await readNifti(path.join(dataset, 'imagesTr', `${c}_0000.nii.gz`));
    const pre = preprocessCase([image], null, plans, '3d_fullres', TINY_DATASET_JSON);
    shapes.push(pre.shape.slice(1).join('x'));
    await writeNpy(path.join(work, `${c}.npy`), { data: pre.data, shape: pre.shape });
  }
  await writeFile(path.join(work, 'bench.json'), JSON.stringify({
    cases, patch_size: [40, 56, 40], strides: STRIDES, n_conv: N_CONV, n_conv_decoder: N_CONV_DECODER, num_classes: 3, tile_batch_size: TILE_BATCH,
  }));

  const rows: string[] = [];
  type Run = ReturnType<typeof run>;
  const summary = (runs: Run[]) => ({ seconds: median(runs.flatMap((r) => r.seconds)), peakRssMb: Math.max(...runs.map((r) => r.peak_rss_mb)) });
  for (const tta of [0, 1]) {
    const tsRuns = settings.map((setting) => ({ setting, runs: [] as Run[] }));
    const pyRuns: Run[] = [];
    for (let round = 0; round < rounds; round++) {
      for (const t of tsRuns) t.runs.push(run(process.execPath, ['--import', 'tsx', path.join(here, 'ts-sliding-window.ts'), work, String(tta)], t.setting.env));
      pyRuns.push(run(PYTHON, [path.join(here, 'torch_sliding_window.py'), work, String(tta), String(threads)]));
      console.error(`${tta ? 'mirroring' : 'no TTA'}: round ${round + 1}/${rounds} done`);
    }
    // the logits files are those of the last setting: the allocator does not change the arithmetic
    let maxDiff = 0;
    let maxLogit = 0;
    for (const c of cases) {
      const [a, b] = await Promise.all(['ts', 'torch'].map((s) => readNpy(path.join(work, `${c}_logits_${s}_${tta}.npy`))));
      const [ta, tb] = [a, b].map((x) => tensor(x.data as Float32Array, x.shape));
      maxDiff = Math.max(maxDiff, tidy(() => ta.sub(tb).abs().max().item()));
      maxLogit = Math.max(maxLogit, tidy(() => tb.abs().max().item()));
      ta.dispose();
      tb.dispose();
    }
    const py = summary(pyRuns);
    for (const { setting, runs } of tsRuns) {
      const ts = summary(runs);
      rows.push(
        `| ${tta ? 'mirroring (8 passes)' : 'no TTA'} | ${setting.label} | ${ts.seconds.toFixed(2)} | ${py.seconds.toFixed(2)} | ${(ts.seconds / py.seconds).toFixed(2)} | ${ts.peakRssMb.toFixed(0)} | ${py.peakRssMb.toFixed(0)} | ${(ts.peakRssMb / py.peakRssMb).toFixed(2)} | ${maxDiff.toExponential(1)} (max abs logit ${maxLogit.toFixed(2)}) |`,
      );
    }
  }
  console.log(`Dataset004, ${cases.length} cases (preprocessed shapes ${shapes.join(', ')}), patch 40x56x40, step 0.5, tile batch ${TILE_BATCH}, ${threads} threads, ${rounds} rounds A B A B, medians of s/case`);
  console.log('| setting | nnunet-ts allocator | nnunet-ts s/case | PyTorch s/case | ratio | nnunet-ts peak RSS MB | PyTorch peak RSS MB | ratio | max abs logit diff |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
} finally {
  await rm(work, { recursive: true, force: true });
}

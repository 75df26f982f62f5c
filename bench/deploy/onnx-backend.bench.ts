/**
 * Seconds per case of `predict --backend onnx` (onnxruntime-node CPU + the portable typed-array pipeline) against the
 * libtorch predictor, on Dataset004_Hippocampus 3d_fullres (nnUNetPlans, planned here from the real dataset). The
 * network is randomly initialised (He init, seed 0) from those plans: timing does not depend on the weights, and
 * both backends run the same checkpoint (the export of it), so the label agreement is printed as well. Both use the
 * same intra-op thread count; runs alternate A B A B so drifts of the machine hit both.
 * usage: node --import tsx bench/deploy/onnx-backend.bench.ts [--cases 4] [--rounds 2] [--threads 2] [--no-tta]
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { exportOnnx } from '../../src/deploy/export-onnx.js';
import { predictOnnxCases } from '../../src/deploy/predict-onnx.js';
import { predictCases } from '../../src/inference/predictor.js';
import { readNifti } from '../../src/io/nifti.js';
import { buildNetwork } from '../../src/model/network-registry.js';
import { readPlansFile, resolveConfiguration } from '../../src/planning/plans-schema.js';
import { Generator, setNumThreads } from '../../src/torch/index.js';
import { savePth } from '../../src/torch/serialization/pth-file.js';
import { pyOrderedDict, pyTuple } from '../../src/torch/serialization/py-values.js';
import { linkOrCopy, linkRawDataset } from '../../test/link-or-copy.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SOURCE = path.resolve(repo, '../shared/data/Dataset004_Hippocampus');
const NAME = 'Dataset004_Hippocampus';
const cache = path.join(repo, 'bench/out/deploy');
const { values: args } = parseArgs({ options: { cases: { type: 'string', default: '4' }, rounds: { type: 'string', default: '2' }, threads: { type: 'string', default: '2' }, 'no-tta': { type: 'boolean', default: false } } });
const [nCases, rounds, threads] = [Number(args.cases), Number(args.rounds), Number(args.threads)];
const tta = !args['no-tta'];

function cli(argv: string[]): void {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(repo, 'src/cli/main.ts'), ...argv], { cwd: repo, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`nnunet ${argv.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
}

/** Plans from the real dataset (fingerprint + experiment planning only; nothing is preprocessed). */
async function plans(): Promise<string> {
  const raw = path.join(cache, 'raw');
  const pre = path.join(cache, 'preprocessed');
  const file = path.join(pre, NAME, 'nnUNetPlans.json');
  if (existsSync(file)) return file;
  await linkRawDataset(SOURCE, raw);
  cli(['extract-fingerprint', '-d', '4', '--raw', raw, '--preprocessed', pre, '--no-progress']);
  cli(['plan', '-d', '4', '--raw', raw, '--preprocessed', pre, '--no-progress']);
  return file;
}

async function modelFolder(plansFile: string): Promise<string> {
  const dir = path.join(cache, 'results', NAME, 'nnUNetTrainer__nnUNetPlans__3d_fullres');
  const plansObj = await readPlansFile(plansFile);
  await mkdir(path.join(dir, 'fold_0'), { recursive: true });
  await writeFile(path.join(dir, 'plans.json'), JSON.stringify(plansObj));
  await linkOrCopy(path.join(SOURCE, 'dataset.json'), path.join(dir, 'dataset.json')).catch(() => undefined);
  const configuration = resolveConfiguration(plansObj, '3d_fullres');
  const net = buildNetwork({ configuration, inputChannels: 1, numHeads: 3, source: plansFile, deepSupervision: false }).initialize(new Generator(0));
  await savePth(path.join(dir, 'fold_0', 'checkpoint_final.pth'), {
    network_weights: pyOrderedDict(Object.fromEntries(net.stateDict())),
    init_args: { configuration: '3d_fullres', fold: 0 },
    trainer_name: 'nnUNetTrainer',
    inference_allowed_mirroring_axes: pyTuple(0, 1, 2),
    current_epoch: 0,
  });
  net.dispose();
  return dir;
}

async function main(): Promise<void> {
  setNumThreads(threads);
  const model = await modelFolder(await plans());
  const exportDir = path.join(cache, 'export');
  await rm(exportDir, { recursive: true, force: true });
  await exportOnnx({ modelFolder: model, outputFolder: exportDir, folds: [0] });
  const input = path.join(cache, 'input');
  await rm(input, { recursive: true, force: true });
  await mkdir(input, { recursive: true });
  const images = (await readdir(path.join(SOURCE, 'imagesTr'))).filter((f) => f.endsWith('_0000.nii.gz')).sort().slice(0, nCases);
  for (const f of images) await linkOrCopy(path.join(SOURCE, 'imagesTr', f), path.join(input, f));

  const times: Record<'libtorch' | 'onnx', number[]> = { libtorch: [], onnx: [] };
  const out = (backend: string) => path.join(cache, `pred-${backend}`);
  for (let r = 0; r < rounds; r++) {
    for (const backend of ['libtorch', 'onnx'] as const) {
      await rm(out(backend), { recursive: true, force: true });
      const t0 = performance.now();
      if (backend === 'libtorch') await predictCases({ inputFolder: input, outputFolder: out(backend), modelFolder: model, folds: [0], useMirroring: tta });
      else await predictOnnxCases({ inputFolder: input, outputFolder: out(backend), exportFolder: exportDir, useMirroring: tta, threads });
      times[backend].push((performance.now() - t0) / 1000 / images.length);
    }
  }
  let same = 0;
  let total = 0;
  for (const f of images) {
    const id = f.replace('_0000.nii.gz', '.nii.gz');
    const [a, b] = await Promise.all([readNifti(path.join(out('libtorch'), id)), readNifti(path.join(out('onnx'), id))]);
    for (let i = 0; i < a.data.length; i++) if (a.data[i] === b.data[i]) same++;
    total += a.data.length;
  }
  const median = (v: number[]) => [...v].sort((x, y) => x - y)[v.length >> 1];
  const [lt, ox] = [median(times.libtorch), median(times.onnx)];
  console.log(`Dataset004 3d_fullres (random-init PlainConvUNet from nnUNetPlans), ${images.length} cases, TTA ${tta ? 'on' : 'off'}, ${threads} thread(s), ${rounds} round(s)`);
  const rows = (v: number[]) => v.map((x) => x.toFixed(2)).join(', ');
  console.log(`libtorch predict:        ${lt.toFixed(3)} s/case (median; rounds: ${rows(times.libtorch)})`);
  console.log(`predict --backend onnx:  ${ox.toFixed(3)} s/case (median; rounds: ${rows(times.onnx)})   onnx / libtorch = ${(ox / lt).toFixed(2)}`);
  console.log(`label agreement: ${((100 * same) / total).toFixed(4)}% of ${total} voxels`);
}

await main();

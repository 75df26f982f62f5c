// --pretrained-weights from a checkpoint written by Python's torch.save with nnU-Net's key names.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import { loadPretrainedWeights } from '../../../src/training/pretrained-weights.js';
import { loadSetup, train } from '../../../src/training/trainer.js';
import { referenceUnavailable, REFERENCE_PYTHON } from '../../torch/torch-reference.js';
import { type TinyDataset, tinyDataset } from './fixture.js';

let data: TinyDataset;
before(async () => {
  data = await tinyDataset({ numTraining: 5 });
});

/** Writes an nnU-Net-style checkpoint from Python: random weights for the given keys/shapes; returns per-key sums. */
function pythonCheckpoint(file: string, shapes: Record<string, number[]>): Record<string, number> {
  const spec = path.join(path.dirname(file), `${path.basename(file)}.json`);
  writeFileSync(spec, JSON.stringify(shapes));
  const script = `
import json, sys, collections, torch
shapes = json.load(open(sys.argv[1]))
g = torch.Generator().manual_seed(0)
sd = collections.OrderedDict()
tensors = {}
for k, s in shapes.items():
    # DNA registers modules twice (conv/norm as all_modules.N, the encoder as decoder.encoder): share tensors as torch does
    alias = k.replace('.all_modules.0.', '.conv.').replace('.all_modules.1.', '.norm.')
    if alias.startswith('decoder.encoder.'):
        alias = alias[len('decoder.'):]
    if alias != k and alias in tensors:
        sd[k] = tensors[alias]
    else:
        t = torch.randn(*s, generator=g)
        tensors[k] = t
        sd[k] = t
torch.save({'network_weights': sd, 'optimizer_state': None, 'current_epoch': 1000, 'trainer_name': 'nnUNetTrainer',
            'init_args': {'configuration': '3d_fullres', 'fold': 0}, '_best_ema': 0.9,
            'inference_allowed_mirroring_axes': (0, 1, 2)}, sys.argv[2])
print(json.dumps({k: float(v.double().sum()) for k, v in sd.items()}))
`;
  return JSON.parse(execFileSync(REFERENCE_PYTHON, ['-c', script, spec, file], { encoding: 'utf8' }));
}

test('nnU-Net (Python) weights load into every layer but the segmentation heads', async (t) => {
  const missing = referenceUnavailable(['torch']);
  if (missing) return t.skip(missing);
  const { network } = await loadSetup(data.preprocessedDatasetDir, 'nnUNetPlans', '3d_fullres', 1);
  const own = network.stateDict();
  // the heads get another class count, as when fine-tuning on a dataset with other labels: they must be skipped
  const shapes = Object.fromEntries([...own].map(([k, v]) => [k, k.includes('.seg_layers.') ? [7, ...v.shape.slice(1)] : v.shape]));
  const file = path.join(data.root, 'python_checkpoint_final.pth');
  const sums = pythonCheckpoint(file, shapes);
  const headBefore = own.get('decoder.seg_layers.0.weight')?.sum().item();
  const result = await loadPretrainedWeights(network, file);
  assert.ok(result.loaded > 0);
  for (const [k, v] of network.stateDict()) {
    if (k.includes('.seg_layers.')) continue;
    assert.ok(Math.abs(v.sum().item() - sums[k]) <= 1e-3 * Math.max(1, Math.abs(sums[k])), `${k}: ${v.sum().item()} vs ${sums[k]}`);
  }
  assert.equal(network.stateDict().get('decoder.seg_layers.0.weight')?.sum().item(), headBefore);
  network.dispose();
});

test('a file that does not fit the network is refused with every offending key and both shapes', async (t) => {
  const missing = referenceUnavailable(['torch']);
  if (missing) return t.skip(missing);
  const { network } = await loadSetup(data.preprocessedDatasetDir, 'nnUNetPlans', '3d_fullres', 1);
  const shapes = Object.fromEntries([...network.stateDict()].map(([k, v]) => [k, v.shape]));
  shapes['encoder.stages.0.0.convs.0.conv.weight'] = [32, 2, 1, 3, 3]; // two input channels instead of one
  delete shapes['decoder.transpconvs.0.bias'];
  const file = path.join(data.root, 'wrong.pth');
  pythonCheckpoint(file, shapes);
  await assert.rejects(loadPretrainedWeights(network, file), (e: Error) => {
    assert.equal(e.name, 'UserError');
    assert.match(e.message, /encoder\.stages\.0\.0\.convs\.0\.conv\.weight: file \[32,2,1,3,3\] vs model \[32,1,1,3,3\]/);
    assert.match(e.message, /decoder\.transpconvs\.0\.bias: missing in the file/);
    return true;
  });
  network.dispose();
});

test('--pretrained-weights and --c cannot be combined', async () => {
  await assert.rejects(
    train({ preprocessedDatasetDir: data.preprocessedDatasetDir, resultsDatasetDir: path.join(data.root, 'both'), configuration: '3d_fullres', fold: 0, numEpochs: 1, continueTraining: true, pretrainedWeights: 'x.pth', echo: () => undefined }),
    /cannot be combined/,
  );
});

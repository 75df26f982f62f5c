// Mixed precision and cuDNN settings: the loss scaler against torch.cuda.amp.GradScaler (its defaults, its update rule, its state dict
// through a checkpoint file), its skips inside the training step, and autocast's device policy. Everything runs on
// CPU: the CUDA autocast state is per thread and can be set and read without a GPU, and the step runs under CPU
// autocast (bfloat16), which takes the same code path.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import type { Batch } from '../../../src/data/batch-source.js';
import { readCheckpoint, saveCheckpoint } from '../../../src/model/checkpoint.js';
import { tinyTrainingUNet } from '../tiny-network.js';
import { Generator, Tensor, ampDefault, configureCudnn, cudnnSettings, isAutocastEnabled, randint, randn, tidy, withAutocast } from '../../../src/torch/index.js';
import { GradScaler } from '../../../src/training/amp/grad-scaler.js';
import { nnUNetTrainer } from '../../../src/training/recipes/recipe.js';
import { trainStep } from '../../../src/training/train-step.js';
import { referenceUnavailable, runTorch } from '../../torch/torch-reference.js';

const why = referenceUnavailable();
const tmp = mkdtempSync(path.join(os.tmpdir(), 'nnunet-amp-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('GradScaler as torch.cuda.amp.GradScaler', () => {
  test('defaults are PyTorch’s', { skip: why ?? false }, () => {
    const ref = runTorch(`
import inspect
p = inspect.signature(torch.cuda.amp.GradScaler.__init__).parameters
out['defaults'] = {k: float(p[k].default) for k in ['init_scale', 'growth_factor', 'backoff_factor', 'growth_interval']}
`);
    const s = new GradScaler().stateDict();
    assert.deepEqual(ref.defaults, { init_scale: s.scale, growth_factor: s.growth_factor, backoff_factor: s.backoff_factor, growth_interval: s.growth_interval });
    assert.equal(s._growth_tracker, 0);
  });

  test('update: back off on a skip, grow after growth_interval finite steps in a row, never to infinity', () => {
    const s = new GradScaler();
    s.update(true);
    assert.deepEqual([s.scale, s.stateDict()._growth_tracker], [2 ** 15, 0]);
    for (let i = 0; i < 1999; i++) s.update(false);
    assert.deepEqual([s.scale, s.stateDict()._growth_tracker], [2 ** 15, 1999]);
    s.update(false);
    assert.deepEqual([s.scale, s.stateDict()._growth_tracker], [2 ** 16, 0]);
    // a skip restarts the count
    for (let i = 0; i < 1500; i++) s.update(false);
    s.update(true);
    for (let i = 0; i < 1999; i++) s.update(false);
    assert.deepEqual([s.scale, s.stateDict()._growth_tracker], [2 ** 15, 1999]);
    // float32 arithmetic, as the scale tensor: 3 × 0.1 rounds
    const odd = new GradScaler({ initScale: 3, backoffFactor: 0.1, growthInterval: 1 });
    odd.update(true);
    assert.equal(odd.scale, Math.fround(Math.fround(3) * 0.1));
    const top = new GradScaler({ initScale: 2 ** 127, growthInterval: 1 });
    top.update(false);
    assert.deepEqual([top.scale, top.stateDict()._growth_tracker], [2 ** 127, 0], 'growing past float32 max keeps the scale');
  });

  test('grad_scaler_state in a checkpoint file: torch’s GradScaler loads it and gives it back unchanged', { skip: why ?? false }, async () => {
    const s = new GradScaler({ growthInterval: 7 });
    s.update(true);
    for (let i = 0; i < 3; i++) s.update(false);
    const file = path.join(tmp, 'checkpoint.pth');
    await saveCheckpoint(file, {
      networkWeights: new Map([['w', randn([2], new Generator(2))]]),
      optimizerState: { state: new Map(), param_groups: [{ lr: 0.01, params: [0] }] },
      logging: {},
      bestEma: null,
      currentEpoch: 4,
      initArgs: { plans: {}, configuration: '3d_fullres', fold: 0, dataset_json: {}, device: 'cuda' },
      trainerName: 'nnUNetTrainer',
      mirrorAxes: null,
      resume: { schedule: { trainer: 'nnUNetTrainer', num_epochs: 5, num_iterations_per_epoch: 2, num_val_iterations_per_epoch: 1, plans_identifier: 'nnUNetPlans', configuration: '3d_fullres', fold: 0, seed: 1 }, resume_iteration: 0, partial_train_loss_sum: 0, partial_finite_steps: 0, nonfinite_streak: 0, warmup_epochs: 0, callbacks: {} },
      gradScalerState: s.stateDict(),
    });
    const ref = runTorch(`
saved = torch.load(inp['file'])['grad_scaler_state']
g = torch.cuda.amp.GradScaler(enabled=False)
# its state handling is plain Python; only the scale update needs CUDA
g._enabled, g._scale, g._growth_tracker = True, None, None
g.load_state_dict(saved)
out['types'] = {k: type(v).__name__ for k, v in saved.items()}
out['reloaded'] = g.state_dict()
`, { file });
    assert.deepEqual(ref.reloaded, s.stateDict());
    assert.deepEqual(ref.types, { scale: 'float', growth_factor: 'float', backoff_factor: 'float', growth_interval: 'int', _growth_tracker: 'int' });
    const back = await readCheckpoint(file);
    assert.deepEqual(GradScaler.fromState(back.grad_scaler_state, file).stateDict(), { scale: 2 ** 15, growth_factor: 2, backoff_factor: 0.5, growth_interval: 7, _growth_tracker: 3 });
    for (const t of Object.values(back.network_weights)) t.dispose();
    assert.throws(() => GradScaler.fromState({ scale: 1 }, file), (e: Error) => e.message.startsWith(`${file}: grad_scaler_state`));
  });
});

describe('skips in the training step are the scaler’s skips', () => {
  const NUM_CLASSES = 3;
  function setup() {
    const g = new Generator(5);
    const net = tinyTrainingUNet(2, NUM_CLASSES, g);
    const batch = tidy((): Batch => {
      const x = randn([2, 1, 16, 16], g);
      const full = randint(0, NUM_CLASSES, [2, 1, 16, 16], g).to('int16');
      const half = full.slice(2, 0, 16, 2).slice(3, 0, 16, 2).contiguous();
      return { index: 0, data: x.toTypedArray() as Float32Array, dataShape: x.shape, targets: [full, half].map((t) => t.toTypedArray() as Int16Array), targetShapes: [full.shape, half.shape] };
    });
    const optimizer = nnUNetTrainer.createOptimizer(net.parameters(), nnUNetTrainer);
    const snapshot = (): Buffer[] => tidy(() => [...net.stateDict().values(), ...[...optimizer.stateDict().state.values()].flatMap((s) => Object.values(s))].map((t) => t.toBuffer()));
    return { net, optimizer, batch, snapshot };
  }

  test('an injected non-finite loss and overflowing (inf) gradients skip the step and back the scale off; finite steps count', () => {
    const { net, optimizer, batch, snapshot } = setup();
    const step = (amp: GradScaler, injectNonFinite = false) => trainStep(net, optimizer, batch, NUM_CLASSES, { batchDice: false }, 'cpu', { amp, injectNonFinite });
    const scaler = new GradScaler({ growthInterval: 2 });
    assert.equal(step(scaler).skipped, null);
    assert.deepEqual([scaler.scale, scaler.stateDict()._growth_tracker], [2 ** 16, 1]);
    const before = snapshot();
    assert.equal(step(scaler, true).skipped, 'non-finite loss');
    assert.deepEqual([scaler.scale, scaler.stateDict()._growth_tracker], [2 ** 15, 0]);
    assert.deepEqual(snapshot(), before, 'weights and momentum unchanged');
    // inf gradients from a finite loss, as a float16 backward that overflows on a GPU: here the scaled loss is inf
    class Overflowing extends GradScaler {
      override scaleLoss(loss: Tensor): Tensor {
        return loss.mul(Number.POSITIVE_INFINITY);
      }
    }
    const overflowing = new Overflowing();
    const r = step(overflowing);
    assert.equal(r.skipped, 'non-finite gradients');
    assert.ok(Number.isFinite(r.loss), 'the loss itself was finite');
    assert.equal(overflowing.scale, 2 ** 15);
    assert.deepEqual(snapshot(), before, 'weights and momentum unchanged');
    assert.equal(step(scaler).skipped, null);
    assert.equal(step(scaler).skipped, null);
    assert.deepEqual([scaler.scale, scaler.stateDict()._growth_tracker], [2 ** 16, 0], 'grown after growth_interval finite steps');
    assert.notDeepEqual(snapshot(), before);
    optimizer.dispose();
    net.dispose();
  });
});

describe('autocast', () => {
  test('on by default for CUDA devices, off for CPU', () => {
    assert.deepEqual(['cuda', 'cuda:1', 'cpu'].map((d) => ampDefault(d as 'cpu')), [true, true, false]);
  });

  test('withAutocast sets the device type’s state for its body only, and only that device type’s tensors change', () =>
    tidy(() => {
      const a = randn([4, 4], new Generator(1));
      assert.equal(isAutocastEnabled('cuda'), false);
      // "cuda" without a GPU: the per-thread state is still there, and CPU tensors are outside its reach
      const inCuda = withAutocast('cuda', () => [isAutocastEnabled('cuda'), isAutocastEnabled('cpu'), a.matmul(a).dtype]);
      assert.deepEqual(inCuda, [true, false, 'float32']);
      assert.equal(isAutocastEnabled('cuda'), false, 'restored');
      assert.equal(withAutocast('cpu', () => a.matmul(a).dtype), 'bfloat16');
      // nested regions and exceptions restore the outer state
      withAutocast('cuda', () => {
        assert.throws(() => withAutocast('cuda', () => { throw new Error('inner'); }, false), /inner/);
        assert.equal(isAutocastEnabled('cuda'), true);
      });
      assert.equal(isAutocastEnabled('cuda'), false);
      assert.equal(a.matmul(a).dtype, 'float32');
    }));
});

test('cuDNN: benchmark for CUDA work as nnU-Net, deterministic on request, CPU work leaves the flags alone', () => {
  // libtorch's global flags exist without a GPU too
  configureCudnn('cuda');
  assert.deepEqual(cudnnSettings(), { benchmark: true, deterministic: false });
  configureCudnn('cuda:0', { deterministic: true });
  assert.deepEqual(cudnnSettings(), { benchmark: false, deterministic: true });
  configureCudnn('cpu');
  assert.deepEqual(cudnnSettings(), { benchmark: false, deterministic: true });
});

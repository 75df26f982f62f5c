import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Generator, type Tensor, dispose, rand, randint } from '../../../src/torch/index.js';
import { UserError } from '../../../src/errors.js';
import {
  type AugmentationConfig, type TrainingSample, buildTrainingTransforms, buildValidationTransforms, computeInitialPatchSize, configureRotationDummy2DMirroring,
} from '../../../src/data/augmentation/index.js';

const deg = (d: number): number => (d / 360) * 2 * Math.PI;

test("Dataset004 3d_fullres patch [40, 56, 40] needs nnU-Net's initial patch [73, 80, 64]", () => {
  // get_patch_size(patch, ±30°, ±30°, ±30°, (0.85, 1.25)): the patch vector v = (40, 56, 40) rotated by 30° about one
  // axis at a time (row vector times Rx, Ry, Rz; c = cos 30° ≈ 0.8660, s = sin 30° = 0.5):
  //   v·Rx = (40, 56c + 40s, −56s + 40c) = (40, 68.50, 6.64)
  //   v·Ry = (40c − 40s, 56, 40s + 40c) = (14.64, 56, 54.64)
  //   v·Rz = (40c + 56s, −40s + 56c, 40) = (62.64, 28.50, 40)
  // per-axis max of |·| and v: (62.64, 68.50, 54.64); / 0.85 = (73.70, 80.59, 64.28); truncated: (73, 80, 64).
  const setup = configureRotationDummy2DMirroring([40, 56, 40]);
  assert.deepEqual(setup.initialPatchSize, [73, 80, 64]);
  assert.deepEqual(setup.rotation, [-deg(30), deg(30)]);
  assert.equal(setup.doDummy2D, false);
  assert.deepEqual(setup.mirrorAxes, [0, 1, 2]);
  assert.deepEqual(computeInitialPatchSize([40, 56, 40], deg(30), [-deg(30), deg(30)], deg(30), [0.85, 1.25]), [73, 80, 64]);
});

test('rotation / dummy-2D / mirroring rules: 2D by aspect ratio, dummy-2D above ratio 3 with the slice axis kept', () => {
  const square = configureRotationDummy2DMirroring([56, 40]);
  assert.deepEqual(square.rotation, [-deg(180), deg(180)]);
  assert.deepEqual(square.mirrorAxes, [0, 1]);
  // 2D, ±180° capped at 90°: max(|(56, 40)|, |(56, 40)·R90| = (40, 56)) / 0.85 = (65.88, 65.88) → 65
  assert.deepEqual(square.initialPatchSize, [65, 65]);
  assert.deepEqual(configureRotationDummy2DMirroring([160, 40]).rotation, [-deg(15), deg(15)]);
  const aniso = configureRotationDummy2DMirroring([10, 64, 64]);
  assert.equal(aniso.doDummy2D, true);
  assert.deepEqual(aniso.rotation, [-deg(180), deg(180)]);
  assert.equal(aniso.initialPatchSize[0], 10);
  assert.equal(configureRotationDummy2DMirroring([22, 64, 64]).doDummy2D, false);
});

const config: AugmentationConfig = {
  patchSize: [12, 16, 12],
  rotation: [-deg(30), deg(30)],
  doDummy2D: false,
  mirrorAxes: [0, 1, 2],
  deepSupervisionScales: [[1, 1, 1], [0.5, 0.5, 0.5], [0.25, 0.25, 0.25]],
  useMaskForNorm: [false, true],
};

function patch(seed: number, shape: number[]): { image: Tensor; seg: Tensor } {
  const rng = new Generator(seed);
  return { image: rand([2, ...shape], rng), seg: randint(-1, 3, [1, ...shape], rng, 'int16') };
}

test('a seeded training pipeline is reproducible, and restoring the Generator state reproduces the sample', () => {
  const { transform, samplePatchSize } = buildTrainingTransforms(config);
  assert.deepEqual(samplePatchSize, configureRotationDummy2DMirroring(config.patchSize).initialPatchSize);
  const input = patch(1, samplePatchSize);
  const rng = new Generator(1234);
  const outputs: TrainingSample[] = [];
  const states: Uint8Array[] = [];
  for (let i = 0; i < 12; i++) {
    states.push(rng.getState());
    outputs.push(transform(input, rng));
  }
  assert.ok(!input.image.isDisposed && !input.seg.isDisposed, 'the pipeline does not free its input');
  for (const out of outputs) {
    assert.deepEqual(out.image.shape, [2, 12, 16, 12]);
    assert.deepEqual(out.segs.map((s) => s.shape), [[1, 12, 16, 12], [1, 6, 8, 6], [1, 3, 4, 3]]);
    assert.ok(out.seg.unique().values.toArray().every((l) => [0, 1, 2].includes(l)), '−1 removed, labels kept');
  }
  const again = new Generator(1234);
  const replay = outputs.map(() => transform(input, again));
  replay.forEach((r, i) => assert.deepEqual(r.image.toArray(), outputs[i].image.toArray(), `sample ${i}`));
  // the 7th sample again from its saved state
  const restored = transform(input, new Generator(0).setState(states[7]));
  assert.deepEqual(restored.image.toArray(), outputs[7].image.toArray());
  assert.deepEqual(restored.segs[2].toArray(), outputs[7].segs[2].toArray());
  // different draws give different samples
  assert.notDeepEqual(outputs[0].image.toArray(), outputs[1].image.toArray());
  dispose([input, outputs, replay, restored]);
});

test('the pipeline masks channels normalized in the nonzero mask, only there, before −1 becomes 0', () => {
  const { transform } = buildTrainingTransforms({ ...config, mirrorAxes: [], deepSupervisionScales: null, rotation: [0, 0] });
  const input = patch(3, [12, 16, 12]);
  // rotation range 0 on a same-sized patch: the spatial step is an identity unless its second draw (p_scaling 0.2)
  // triggers scaling, so use a seed whose replayed second draw does not
  const seed = [5, 6, 7, 8, 9].find((s) => {
    const replay = new Generator(s);
    replay.random();
    return replay.random() >= 0.2;
  });
  assert.ok(seed !== undefined);
  const out = transform(input, new Generator(seed));
  const outside = input.seg.lt(0);
  assert.equal(out.image.select(0, 1).maskedSelect(outside.select(0, 0)).abs().amax().item(), 0);
  assert.ok(out.image.select(0, 0).maskedSelect(outside.select(0, 0)).abs().amax().item() > 0);
  assert.equal(out.segs.length, 1);
  assert.equal(out.segs[0], out.seg);
});

test('validation pipeline: only −1 → 0 and DS targets, on final-size patches', () => {
  const { transform, samplePatchSize } = buildValidationTransforms(config);
  assert.deepEqual(samplePatchSize, [12, 16, 12]);
  const input = patch(4, samplePatchSize);
  const out = transform(input, new Generator(0));
  assert.equal(out.image, input.image);
  assert.deepEqual(out.seg.toArray(), input.seg.toArray().map((v) => (v === -1 ? 0 : v)));
  assert.deepEqual(out.segs.map((s) => s.shape[1]), [12, 6, 3]);
});

test('an invalid config is a UserError naming the problem', () => {
  assert.throws(() => buildTrainingTransforms({ ...config, mirrorAxes: [3] }), (e: unknown) => e instanceof UserError && /mirror axes/.test(e.message));
  assert.throws(() => buildTrainingTransforms({ ...config, patchSize: [12, 16], doDummy2D: true, mirrorAxes: [0], deepSupervisionScales: null }), UserError);
});

test('2D and dummy-2D training pipelines turn their initial patches into final-size samples', () => {
  for (const patchSize of [[20, 24], [4, 16, 16]]) {
    const setup = configureRotationDummy2DMirroring(patchSize);
    assert.equal(setup.doDummy2D, patchSize.length === 3);
    const { transform, samplePatchSize } = buildTrainingTransforms({
      patchSize, rotation: setup.rotation, doDummy2D: setup.doDummy2D, mirrorAxes: setup.mirrorAxes, deepSupervisionScales: null, useMaskForNorm: [false, false],
    });
    assert.deepEqual(samplePatchSize, setup.initialPatchSize);
    const input = patch(6, samplePatchSize);
    const rng = new Generator(8);
    for (let i = 0; i < 10; i++) {
      const out = transform(input, rng);
      assert.deepEqual(out.image.shape, [2, ...patchSize]);
      assert.deepEqual(out.segs[0].shape, [1, ...patchSize]);
      dispose(out);
    }
  }
});

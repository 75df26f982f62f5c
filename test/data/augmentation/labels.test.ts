import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Generator, arange, rand, randint, tensor } from '../../../src/torch/index.js';
import { deepSupervisionScales, downsampleSegForDS, maskImage, mirror, removeLabel } from '../../../src/data/augmentation/index.js';

test('mirror flips image and seg along exactly the axes it drew', () => {
  const rng = new Generator(1);
  const image = rand([2, 3, 4, 5], rng);
  const seg = randint(0, 3, [1, 3, 4, 5], rng, 'int8');
  assert.deepEqual(mirror([0, 1, 2], 1)({ image, seg }, rng).image.toArray(), image.flip([1, 2, 3]).toArray());
  const onlyFirst = mirror([1], 1)({ image, seg }, rng);
  assert.deepEqual(onlyFirst.image.toArray(), image.flip([2]).toArray());
  assert.deepEqual(onlyFirst.seg.toArray(), seg.flip([2]).toArray());
  const none = mirror([0, 1, 2], 0)({ image, seg }, rng);
  assert.equal(none.image, image, 'no flip returns the input tensors');
  // with p 0.5 the flipped axes are the draws below 0.5 of the same generator
  const state = rng.getState();
  const flipped = [0, 1, 2].filter(() => rng.random() < 0.5).map((a) => a + 1);
  rng.setState(state);
  const out = mirror([0, 1, 2])({ image, seg }, rng);
  assert.deepEqual(out.image.toArray(), (flipped.length ? image.flip(flipped) : image).toArray());
});

test('mask image zeroes only the listed channels where seg < 0; remove label turns −1 into 0', () => {
  const image = arange(1, 9, 1, 'float32').reshape([2, 2, 2]);
  const seg = tensor([-1, 0, 2, -1], [1, 2, 2], 'int16');
  const masked = maskImage([1])({ image, seg }, new Generator(0));
  assert.deepEqual(masked.image.toArray(), [1, 2, 3, 4, 0, 6, 7, 0]);
  const cleaned = removeLabel(-1, 0)({ image, seg }, new Generator(0));
  assert.deepEqual(cleaned.seg.toArray(), [0, 0, 2, 0]);
  assert.equal(cleaned.seg.dtype, 'int16');
  assert.deepEqual(seg.toArray(), [-1, 0, 2, -1], 'input untouched');
});

test('deep-supervision scales are 1/cumprod(strides) without the last stage', () => {
  const strides = [[1, 1, 1], [2, 2, 2], [2, 2, 1], [2, 2, 2]];
  assert.deepEqual(deepSupervisionScales(strides), [[1, 1, 1], [0.5, 0.5, 0.5], [0.25, 0.25, 0.5]]);
});

test('DS targets: nearest-exact per scale, shapes round(n·s), scale 1 is the seg itself', () => {
  const shape = [8, 12, 6];
  const seg = randint(0, 4, [1, ...shape], new Generator(2), 'int16');
  const scales = [[1, 1, 1], [0.5, 0.5, 0.5], [0.25, 0.25, 0.5]];
  const out = downsampleSegForDS(scales)({ image: rand([1, ...shape]), seg }, new Generator(0));
  assert.equal(out.segs[0], seg);
  assert.deepEqual(out.segs.map((s) => s.shape), [[1, 8, 12, 6], [1, 4, 6, 3], [1, 2, 3, 3]]);
  assert.ok(out.segs.every((s) => s.dtype === 'int16'));
  // nearest-exact: output i reads input ⌊(i + 0.5)·n/m⌋
  const src = seg.toArray();
  for (const [level, target] of out.segs.entries()) {
    const m = target.shape.slice(1);
    const values = target.toArray();
    const expected: number[] = [];
    for (let z = 0; z < m[0]; z++) for (let y = 0; y < m[1]; y++) for (let x = 0; x < m[2]; x++) {
      const [iz, iy, ix] = [z, y, x].map((i, a) => Math.floor(((i + 0.5) * shape[a]) / m[a]));
      expected.push(src[(iz * shape[1] + iy) * shape[2] + ix]);
    }
    assert.deepEqual(values, expected, `level ${level}`);
  }
});

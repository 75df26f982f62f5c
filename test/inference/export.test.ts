import assert from 'node:assert/strict';
import { test } from 'node:test';
import { logitsToOriginal } from '../../src/inference/export.js';
import { resolveConfiguration } from '../../src/planning/plans-schema.js';
import { arange, tidy, zeros } from '../../src/torch/index.js';
import { tinyPlans } from './model-fixture.js';

// Original array [z, y, x] = [10, 12, 8], spacing [z, y, x] = [2, 1, 1.5]; transpose_forward [2, 0, 1] gives
// [x, z, y] = [8, 10, 12] with spacing [1.5, 2, 1]. The crop box in transposed order covers [1, 7) x [2, 9) x [0, 12).
const plans = tinyPlans([2, 0, 1]);
const configuration = resolveConfiguration(plans, '3d_fullres'); // spacing [1.5, 1, 1]
const properties = {
  spacing: [2, 1, 1.5],
  shape_before_cropping: [8, 10, 12],
  bbox_used_for_cropping: [[1, 7], [2, 9], [0, 12]] as [number, number][],
  shape_after_cropping_and_before_resampling: [6, 7, 12],
};
// at the configuration spacing the crop is [6, 7·2/1, 12] = [6, 14, 12]
const preprocessedShape = [6, 14, 12];

test('export: labels land in the crop box of the original shape, transposed back, zeros outside', () => {
  tidy(() => {
    // class 1 on the first half of preprocessed axis 1 (original z, resampled 14 -> 7), class 2 on the second half;
    // the middle original voxel (z 5) sits exactly between both halves: a tie, which argmax gives to class 1
    const logits = zeros([3, ...preprocessedShape]);
    logits.select(0, 1).slice(1, 0, 7).fill_(5);
    logits.select(0, 2).slice(1, 7, 14).fill_(5);
    const { segmentation, probabilities } = logitsToOriginal(logits, properties, plans, configuration, true);
    assert.deepEqual(segmentation.shape, [10, 12, 8]);
    assert.equal(segmentation.dtype, 'uint8');
    const seg = segmentation.toArray();
    // expected in transposed order t[x][z][y], read back at original [z][y][x]
    for (let z = 0; z < 10; z++) {
      for (let y = 0; y < 12; y++) {
        for (let x = 0; x < 8; x++) {
          const inBox = x >= 1 && x < 7 && z >= 2 && z < 9;
          const expected = inBox ? (z - 2 < 3.5 ? 1 : 2) : 0;
          assert.equal(seg[(z * 12 + y) * 8 + x], expected, `voxel z${z} y${y} x${x}`);
        }
      }
    }
    assert.ok(probabilities);
    assert.deepEqual(probabilities.shape, [3, 10, 12, 8]);
    // probabilities sum to 1 everywhere; outside the box background is certain
    const sums = probabilities.sum(0);
    assert.ok(sums.sub(1).abs().max().item() < 1e-5);
    assert.equal(probabilities.select(0, 0).select(2, 0).min().item(), 1, 'x = 0 lies outside the box');
    assert.equal(probabilities.select(0, 0).select(0, 9).min().item(), 1, 'z = 9 lies outside the box');
  });
});

test('export: logits at the original spacing are not resampled, and argmax follows every voxel', () => {
  const config = { ...configuration, spacing: [1.5, 2, 1] }; // equals the original spacing in transposed order
  tidy(() => {
    const logits = arange(0, 3 * 6 * 7 * 12, 1, 'float32').reshape([3, 6, 7, 12]).remainder(7);
    const { segmentation, probabilities } = logitsToOriginal(logits, properties, plans, config, false);
    assert.equal(probabilities, null);
    const expected = zeros([8, 10, 12], 'uint8');
    expected.slice(0, 1, 7).slice(1, 2, 9).copy_(logits.argmax(0));
    assert.deepEqual(segmentation.toArray(), expected.permute(plans.transpose_backward).contiguous().toArray());
  });
});

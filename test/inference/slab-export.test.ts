// The low-memory export: labels from the sliding window's slabs equal the plain path's (whole logits volume, then
// softmax/sigmoid and argmax/painting), with several slabs, padding, a crop box and a transpose back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canExportInSlabs, logitsToOriginal, segmentationFromSlabs } from '../../src/inference/export.js';
import { forEachLogitSlab, predictSlidingWindow } from '../../src/inference/sliding-window.js';
import { LabelManager } from '../../src/planning/labels.js';
import { resolveConfiguration } from '../../src/planning/plans-schema.js';
import { Generator, randn, tidy } from '../../src/torch/index.js';
import { tinyUNet } from './helpers.js';
import { tinyPlans } from './model-fixture.js';

// preprocessed (transposed) [x, z, y] = [37, 6, 9], cropped out of [40, 8, 11]: the window moves along 37 rows, the
// 6-voxel axis is padded up to the patch; the labels go back to the original order [z, y, x] = [8, 11, 40]
const plans = tinyPlans([2, 0, 1]);
const configuration = resolveConfiguration(plans, '3d_fullres');
const shape = [37, 6, 9];
const properties = {
  spacing: [1, 1, 1],
  shape_before_cropping: [40, 8, 11],
  bbox_used_for_cropping: [[2, 39], [1, 7], [0, 9]] as [number, number][],
  shape_after_cropping_and_before_resampling: shape,
};
const patch = [8, 8, 8];

for (const { name, labels } of [
  { name: 'softmax + argmax, 5 labels', labels: new LabelManager({ allLabels: [0, 1, 2, 3, 4], ignoreLabel: null }) },
  { name: 'regions: sigmoid + painting', labels: new LabelManager({ allLabels: [0, 1, 2, 3], ignoreLabel: null, regions: [[1, 2, 3], [2, 3], [3], [1]], regionsClassOrder: [1, 2, 3, 1] }) },
]) {
  test(`slabs give the plain path's labels (${name})`, () =>
    tidy(() => {
      const heads = labels.numSegmentationHeads;
      const net = tinyUNet(3, 1, heads, 4);
      const data = randn([1, ...shape], new Generator(9));
      const options = { patchSize: patch, numClasses: heads, mirrorAxes: [0, 2], tileBatchSize: 3 };
      assert.ok(canExportInSlabs(shape, properties));
      const plain = logitsToOriginal(predictSlidingWindow(net, data, options), properties, plans, configuration, false, labels).segmentation;
      let next = 0;
      const slabs = segmentationFromSlabs(
        (emit) =>
          forEachLogitSlab(net, data, options, (start, slab) => {
            assert.equal(start, next, 'slabs in order, without gaps');
            assert.ok(slab.size(1) < shape[0]);
            next += slab.size(1);
            emit(start, slab);
          }),
        heads,
        properties,
        plans,
        labels,
      );
      assert.equal(next, shape[0], 'every row emitted once');
      assert.deepEqual(slabs.shape, [8, 11, 40]);
      assert.deepEqual(slabs.toBuffer(), plain.toBuffer());
      assert.ok(new Set(plain.toArray()).size > 2, 'the labels are not trivial');
    }));
}

test('a case that needs resampling is not exported in slabs', () => {
  assert.equal(canExportInSlabs([37, 12, 9], properties), false);
});

// validationStep with regions: tp/fp/fn per region head (sigmoid > 0.5, i.e. logit > 0) against the region masks of
// the label map, every head kept, ignored voxels counted nowhere (upstream's validation_step, regions branch).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Batch } from '../../../src/data/batch-source.js';
import type { SegmentationNetwork } from '../../../src/model/network-registry.js';
import { Generator, randint, randn, tidy } from '../../../src/torch/index.js';
import { validationStep } from '../../../src/training/train-step.js';

const REGIONS = [[1, 2, 3], [2, 3], [3]];

test('validationStep counts tp/fp/fn per region, ignored voxels left out', () =>
  tidy(() => {
    const g = new Generator(5);
    const seg = randint(0, 5, [2, 4, 6, 6], g); // 4 = ignore
    const logits = randn([2, 3, 4, 6, 6], g);
    const network = { forward: () => [logits] } as unknown as SegmentationNetwork;
    const batch: Batch = { index: 0, data: new Float32Array(2 * 4 * 6 * 6), dataShape: [2, 1, 4, 6, 6], targets: [seg.to('int16').toTypedArray() as Int16Array], targetShapes: [[2, 1, 4, 6, 6]] };
    const r = validationStep(network, batch, 3, { batchDice: false, regions: REGIONS, ignoreLabel: 4 }, 'cpu');
    const labels = seg.toTypedArray() as BigInt64Array;
    const scores = logits.toTypedArray() as Float32Array;
    const n = labels.length / 2;
    const expected = REGIONS.map((region, h) => {
      const c = { tp: 0, fp: 0, fn: 0 };
      for (let i = 0; i < labels.length; i++) {
        const v = Number(labels[i]);
        if (v === 4) continue;
        const b = Math.floor(i / n);
        const p = scores[(b * 3 + h) * n + (i % n)] > 0;
        const t = region.includes(v);
        if (p && t) c.tp++;
        else if (p) c.fp++;
        else if (t) c.fn++;
      }
      return c;
    });
    assert.deepEqual({ tp: r.tp, fp: r.fp, fn: r.fn }, { tp: expected.map((c) => c.tp), fp: expected.map((c) => c.fp), fn: expected.map((c) => c.fn) });
    assert.ok(Number.isFinite(r.loss));
  }));

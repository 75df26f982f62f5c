import assert from 'node:assert/strict';
import { test } from 'node:test';
import { computeConvFeatureMapSize, getPoolAndConvProps, padShape } from '../../../src/planning/network-topology.js';

test('padShape rounds up to the divisor and keeps exact multiples', () => {
  assert.deepEqual(padShape([36, 50, 35], [8, 8, 8]), [40, 56, 40]);
  assert.deepEqual(padShape([32, 64, 7], [8, 32, 1]), [32, 64, 7]);
  // fractional median sizes (np.median of an even count) are padded, then truncated to int
  assert.deepEqual(padShape([35.5], [8]), [40]);
});

test('isotropic topology: Hippocampus 3d_fullres and 2d', () => {
  // [36,50,35] -> pool all three axes while >= 8: [18,25,18] -> [9,13,9] -> [5,7,5]; stop (all < 8).
  // 3 pools per axis -> divisible by 8 -> patch [40,56,40].
  const p3 = getPoolAndConvProps([1, 1, 1], [36, 50, 35], 4, 999999);
  assert.deepEqual(p3.numPoolPerAxis, [3, 3, 3]);
  assert.deepEqual(p3.poolOpKernelSizes, [
    [1, 1, 1],
    [2, 2, 2],
    [2, 2, 2],
    [2, 2, 2],
  ]);
  assert.deepEqual(p3.convKernelSizes, new Array(4).fill([3, 3, 3]));
  assert.deepEqual(p3.patchSize, [40, 56, 40]);
  assert.deepEqual(p3.shapeMustBeDivisibleBy, [8, 8, 8]);
  const p2 = getPoolAndConvProps([1, 1], [50, 35], 4, 999999);
  assert.deepEqual(p2.patchSize, [56, 40]);
  assert.equal(p2.poolOpKernelSizes.length, 4);
});

test('anisotropic topology: in-plane pooling first, kernel 1 along z until spacings are within 2x', () => {
  // spacing [2.5, 0.8, 0.8], patch [32, 256, 224]:
  //  1: z excluded (2.5/0.8 >= 2); kernel [1,3,3]; pool [1,2,2] -> spacing [2.5,1.6,1.6], size [32,128,112]
  //  2: 2.5/1.6 < 2 -> all axes; kernel [3,3,3]; pool [2,2,2] -> [5,3.2,3.2], [16,64,56]
  //  3: pool [2,2,2] -> [8,32,28];  4: pool [2,2,2] -> [4,16,14]
  //  5: z size 4 < 8 -> pool [1,2,2] -> [4,8,7]
  //  6: only y (8) is >= 8 and a lone axis needs >= 12 -> stop. Pools [3,5,5] -> divisible by [8,32,32].
  const p = getPoolAndConvProps([2.5, 0.8, 0.8], [32, 256, 224], 4, 999999);
  assert.deepEqual(p.poolOpKernelSizes, [
    [1, 1, 1],
    [1, 2, 2],
    [2, 2, 2],
    [2, 2, 2],
    [2, 2, 2],
    [1, 2, 2],
  ]);
  assert.deepEqual(p.convKernelSizes, [[1, 3, 3], [3, 3, 3], [3, 3, 3], [3, 3, 3], [3, 3, 3], [3, 3, 3]]);
  assert.deepEqual(p.numPoolPerAxis, [3, 5, 5]);
  assert.deepEqual(p.patchSize, [32, 256, 224]);
  // An unaligned input gets the same topology and is padded up: 30 -> 32, 250 -> 256, 200 -> 7 * 32 = 224.
  assert.deepEqual(getPoolAndConvProps([2.5, 0.8, 0.8], [30, 250, 200], 4, 999999).patchSize, [32, 256, 224]);
  // max_numpool caps the pools per axis.
  assert.deepEqual(getPoolAndConvProps([1, 1, 1], [64, 64, 64], 4, 2).numPoolPerAxis, [2, 2, 2]);
});

test('a lone poolable axis needs 3x the minimum edge length', () => {
  // Only x is >= 8, and it is >= 12 -> one pool [1,1,2]; then 6 < 8 -> stop. (Early v2 releases raised
  // IndexError on this input, see network-topology.ts.)
  const p = getPoolAndConvProps([1, 1, 1], [4, 4, 12], 4, 999999);
  assert.deepEqual(p.poolOpKernelSizes, [
    [1, 1, 1],
    [1, 1, 2],
  ]);
  assert.deepEqual(p.convKernelSizes, [
    [3, 3, 3],
    [3, 3, 3],
  ]);
  const q = getPoolAndConvProps([1, 1, 1], [4, 4, 11], 4, 999999);
  assert.deepEqual(q.poolOpKernelSizes, [[1, 1, 1]]);
  assert.deepEqual(q.convKernelSizes, [[3, 3, 3]]);
});

test('feature-map size: Hippocampus networks, summed by hand', () => {
  // 3D, patch [40,56,40], features [32,64,128,256], 3 classes, no deep supervision.
  // encoder: 2*32*89600 + 2*64*11200 + 2*128*1400 + 2*256*175 = 7,616,000
  // decoder (lowest first): 128*1400*(2 convs + transp.) + 64*11200*3 + 32*89600*3 + seg 3*89600 = 11,558,400
  const arch3 = {
    features_per_stage: [32, 64, 128, 256],
    strides: [
      [1, 1, 1],
      [2, 2, 2],
      [2, 2, 2],
      [2, 2, 2],
    ],
    n_conv_per_stage: [2, 2, 2, 2],
    n_conv_per_stage_decoder: [2, 2, 2],
  };
  assert.equal(computeConvFeatureMapSize(arch3, [40, 56, 40], 3), 19_174_400);
  // with deep supervision the two lower seg heads add 3*1400 + 3*11200
  assert.equal(computeConvFeatureMapSize(arch3, [40, 56, 40], 3, true), 19_174_400 + 3 * 1400 + 3 * 11200);
  // 2D, patch [56,40]: encoder 268,800; decoder 383,040
  const arch2 = { ...arch3, strides: [[1, 1], [2, 2], [2, 2], [2, 2]] };
  assert.equal(computeConvFeatureMapSize(arch2, [56, 40], 3), 651_840);
  // odd sizes floor at each stride, as "same"-padded strided convs do: [5,7,5] -> [2,3,2]
  const small = { features_per_stage: [1, 1], strides: [[1, 1, 1], [2, 2, 2]], n_conv_per_stage: [1, 1], n_conv_per_stage_decoder: [1] };
  // enc 175 + 12; dec: conv 175 + transp 175 + seg 2*175
  assert.equal(computeConvFeatureMapSize(small, [5, 7, 5], 2), 175 + 12 + 175 + 175 + 350);
});

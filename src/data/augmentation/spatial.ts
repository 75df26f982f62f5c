// nnU-Net's SpatialTransform (BG2 spatial.py, centre crop, no elastic deformation): rotation and scaling of the enlarged
// input patch to the final patch size with one affine_grid + grid_sample per sample, or a plain centre crop.
import { F, type Generator, type Tensor, cat, tensor, tidy } from '../../torch/index.js';
import { type Range, uniformIn } from './random-scalar.js';
import { type Matrix, matMul, rotation2d, rotationX, rotationY, rotationZ } from './rotation-matrices.js';
import type { Sample, Transform } from './transform.js';

export interface SpatialOptions {
  /** Final patch size, all spatial axes (3 for dummy-2D). */
  patchSize: number[];
  pRotation?: number;
  /** Rotation angle range in radians; every rotation axis draws its own angle. */
  rotation?: Range;
  pScaling?: number;
  /** One scale factor for all axes (nnU-Net: p_synchronize_scaling_across_axes=1); > 1 shows more, smaller anatomy. */
  scaling?: Range;
  /** Augment 3D data slice-wise in the last two axes (nnU-Net's Convert3DTo2D/Convert2DTo3D around this transform). */
  dummy2D?: boolean;
}

/**
 * Where the seg sampled nothing but padding (outside the input patch) it reads -1, the "outside" label, in the grid and
 * the crop path alike. BG2 writes its lowest present label there (which is -1 whenever the loader padded the patch) and
 * pads its crop with 0; in nnU-Net's set-up neither case reaches outside the enlarged patch, and -1 becomes 0 later.
 */
const OUTSIDE = -1;

/**
 * The row-vector affine BG2 applies to its grid (x, y[, z] order, i.e. spatial axes reversed): R·S with
 * R = Rz·Ry·Rx in 3D and a single in-plane rotation in 2D, S = scale·I.
 */
export function spatialAffine(angles: number[], scale: number): Matrix {
  const r = angles.length === 1 ? rotation2d(angles[0]) : matMul(matMul(rotationZ(angles[2]), rotationY(angles[1])), rotationX(angles[0]));
  return r.map((row) => row.map((v) => v * scale));
}

/** BG2 crop_tensor around floor(shape/2): start = centre − ⌊patch/2⌋, padded with `value` where it leaves the tensor. */
export function centerCrop(t: Tensor, patchSize: number[], value: number): Tensor {
  return tidy(() => {
    const spatial = t.shape.slice(1);
    let out = t;
    const pad: number[] = [];
    spatial.forEach((n, axis) => {
      const start = Math.floor(n / 2) - Math.floor(patchSize[axis] / 2);
      const end = start + patchSize[axis];
      out = out.slice(axis + 1, Math.max(0, start), Math.min(n, end));
      pad.unshift(Math.max(0, -start), Math.max(0, end - n));
    });
    return pad.some((p) => p > 0) ? out.pad(pad, value) : out.clone();
  });
}

/**
 * Resamples image and seg of [C, ...spatial] to `patchSize` through the grid BG2 builds: the patch's identity grid,
 * shrunk by patch/shape per axis so it covers a patch-sized region of the input, then multiplied (row vector) by the
 * affine, centred on the input centre. In affine_grid terms theta = [(D·A)ᵀ | 0] with D = diag(patch/shape), x first.
 * The seg is sampled as one-hot channels of its sorted labels and takes the label of the largest interpolated weight
 * (BG2 bg_style_seg_sampling=False: a weight > 0.7 wins outright, else argmax, which picks the same label).
 */
export function resample(sample: Sample, patchSize: number[], affine: Matrix): Sample {
  return tidy(() => {
    const { image, seg } = sample;
    const n = patchSize.length;
    const spatialIn = image.shape.slice(1);
    const d = Array.from({ length: n }, (_, k) => patchSize[n - 1 - k] / spatialIn[n - 1 - k]);
    const theta: number[] = [];
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) theta.push(d[j] * affine[j][i]);
      theta.push(0);
    }
    const grid = F.affineGrid(tensor(theta, [1, n, n + 1]), [1, 1, ...patchSize], false);
    const labels = seg.unique().values;
    const k = labels.size(0);
    const segChannels = seg.size(0);
    const oneHot = seg.unsqueeze(0).eq(labels.reshape([k, ...new Array<number>(n + 1).fill(1)])).float().reshape([k * segChannels, ...spatialIn]);
    const channels = image.size(0);
    const sampled = F.gridSample(cat([image, oneHot], 0).unsqueeze(0), grid, { mode: 'bilinear', paddingMode: 'zeros', alignCorners: false }).squeeze(0);
    const weights = sampled.slice(0, channels).reshape([k, segChannels, ...patchSize]).max(0);
    const newSeg = labels.indexSelect(0, weights.indices.flatten()).reshape([segChannels, ...patchSize]).maskedFill(weights.values.eq(0), OUTSIDE);
    return { ...sample, image: sampled.slice(0, 0, channels).contiguous(), seg: newSeg };
  });
}

/** Dummy-2D: [C, X, Y, Z] ↔ [C·X, Y, Z], so the first axis rides along as channels (BG2 pseudo2d.py). */
function toSlices(t: Tensor): Tensor {
  const [c, x, ...rest] = t.shape;
  return t.reshape([c * x, ...rest]);
}
function fromSlices(t: Tensor, channels: number): Tensor {
  const [cx, ...rest] = t.shape;
  return t.reshape([channels, cx / channels, ...rest]);
}

export function spatialTransform(options: SpatialOptions): Transform {
  const { patchSize, pRotation = 0.2, rotation = [-Math.PI / 6, Math.PI / 6], pScaling = 0.2, scaling = [0.7, 1.4], dummy2D = false } = options;
  const planeDims = dummy2D ? patchSize.length - 1 : patchSize.length;
  return (sample, rng: Generator) => {
    if (dummy2D && sample.image.size(1) !== patchSize[0]) {
      throw new Error(`dummy-2D augmentation needs the first axis at its final size ${patchSize[0]}, got ${sample.image.size(1)}`);
    }
    const doRotation = rng.random() < pRotation;
    const doScaling = rng.random() < pScaling;
    if (!doRotation && !doScaling) {
      return tidy(() => ({ ...sample, image: centerCrop(sample.image, patchSize, 0), seg: centerCrop(sample.seg, patchSize, OUTSIDE) }));
    }
    const angles = Array.from({ length: planeDims === 3 ? 3 : 1 }, () => (doRotation ? uniformIn(rng, rotation) : 0));
    const affine = spatialAffine(angles, doScaling ? uniformIn(rng, scaling) : 1);
    if (!dummy2D) return resample(sample, patchSize, affine);
    return tidy(() => {
      const out = resample({ image: toSlices(sample.image), seg: toSlices(sample.seg) }, patchSize.slice(1), affine);
      return { ...sample, image: fromSlices(out.image, sample.image.size(0)), seg: fromSlices(out.seg, sample.seg.size(0)) };
    });
  };
}

// The demo's generated dataset in nnU-Net's raw layout: two labelled structures of varying shape and position inside
// a noisy, bias-field-corrupted head-like volume, anisotropic spacing and a rotated (non-identity) affine.
import { mkdir, rm, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createHeader, writeNifti } from '../../io/nifti.js';

export interface SyntheticDatasetOptions {
  rawDir: string;
  datasetId?: number;
  name?: string;
  numTraining?: number;
  numTest?: number;
  /** array order [z, y, x] */
  shape?: number[];
  /** array order [z, y, x], mm */
  spacing?: number[];
  seed?: number;
}

/** mulberry32: a tiny seeded PRNG, enough for generating test data deterministically. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/** Voxel (i=x, j=y, k=z) → world: rotation about z by `angleDeg`, then spacing, then an origin shift (nibabel affine). */
function affineFor(spacing: number[], angleDeg: number): number[][] {
  const [sz, sy, sx] = spacing;
  const a = (angleDeg * Math.PI) / 180;
  const c = Math.cos(a);
  const s = Math.sin(a);
  return [
    [c * sx, -s * sy, 0, -40.5],
    [s * sx, c * sy, 0, 12.25],
    [0, 0, sz, -20],
    [0, 0, 0, 1],
  ];
}

function makeCase(shape: number[], rand: () => number): { image: Float32Array; label: Uint8Array } {
  const [Z, Y, X] = shape;
  const n = Z * Y * X;
  const image = new Float32Array(n);
  const label = new Uint8Array(n);
  const jitter = (r: number) => (rand() - 0.5) * 2 * r;
  // head: an ellipsoid filling most of the field of view; outside it the scanner reads 0 (crop-to-nonzero matters)
  const head = { c: [Z / 2 + jitter(1), Y / 2 + jitter(2), X / 2 + jitter(2)], r: [Z * 0.45, Y * (0.4 + jitter(0.04)), X * (0.42 + jitter(0.04))] };
  // structure 1: an ellipsoid; structure 2: a smaller blob attached to its side (like hippocampus head/body)
  const s1 = { c: [Z / 2 + jitter(Z * 0.12), Y / 2 + jitter(Y * 0.15), X / 2 + jitter(X * 0.15)], r: [Z * (0.18 + jitter(0.04)), Y * (0.16 + jitter(0.04)), X * (0.2 + jitter(0.05))] };
  const side = rand() < 0.5 ? -1 : 1;
  const s2 = { c: [s1.c[0], s1.c[1] + jitter(2), s1.c[2] + side * (s1.r[2] + X * 0.06)], r: [Z * 0.12, Y * (0.1 + jitter(0.02)), X * (0.1 + jitter(0.02))] };
  const bias = [jitter(0.3), jitter(0.3), jitter(0.3)];
  const inside = (e: { c: number[]; r: number[] }, z: number, y: number, x: number) =>
    ((z - e.c[0]) / e.r[0]) ** 2 + ((y - e.c[1]) / e.r[1]) ** 2 + ((x - e.c[2]) / e.r[2]) ** 2 <= 1;
  const base = 90 + jitter(10);
  const contrast1 = 55 + jitter(10);
  const contrast2 = -35 + jitter(8);
  let i = 0;
  for (let z = 0; z < Z; z++) {
    for (let y = 0; y < Y; y++) {
      for (let x = 0; x < X; x++, i++) {
        if (!inside(head, z, y, x)) continue;
        let v = base;
        if (inside(s1, z, y, x)) {
          label[i] = 1;
          v += contrast1;
        } else if (inside(s2, z, y, x)) {
          label[i] = 2;
          v += contrast2;
        }
        const field = 1 + bias[0] * (z / Z - 0.5) + bias[1] * (y / Y - 0.5) + bias[2] * (x / X - 0.5);
        image[i] = Math.max(1, v * field + 12 * gaussian(rand));
      }
    }
  }
  return { image, label };
}

export interface SyntheticDataset {
  datasetName: string;
  datasetDir: string;
  testImagesDir: string;
  testLabelsDir: string;
}

/** Writes DatasetXXX_Name with imagesTr/labelsTr/imagesTs and labelsTs (held-out references). Deterministic per seed. */
export async function generateSyntheticDataset(options: SyntheticDatasetOptions): Promise<SyntheticDataset> {
  const id = options.datasetId ?? 901;
  const datasetName = `Dataset${String(id).padStart(3, '0')}_${options.name ?? 'Synthetic'}`;
  const shape = options.shape ?? [20, 40, 40];
  const spacing = options.spacing ?? [3.0, 0.9, 0.9];
  const nTr = options.numTraining ?? 30;
  const nTs = options.numTest ?? 6;
  const rand = prng(options.seed ?? 12345);
  const final = path.join(options.rawDir, datasetName);
  const tmp = `${final}.partial-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  for (const sub of ['imagesTr', 'labelsTr', 'imagesTs', 'labelsTs']) await mkdir(path.join(tmp, sub), { recursive: true });
  for (let c = 0; c < nTr + nTs; c++) {
    const { image, label } = makeCase(shape, rand);
    const affine = affineFor(spacing, 15 + 10 * rand());
    const id3 = String(c + 1).padStart(3, '0');
    const [imgDir, labDir] = c < nTr ? ['imagesTr', 'labelsTr'] : ['imagesTs', 'labelsTs'];
    await writeNifti(path.join(tmp, imgDir, `synth_${id3}_0000.nii.gz`), image, shape, createHeader({ shape, affine, dtype: 'float32' }));
    await writeNifti(path.join(tmp, labDir, `synth_${id3}.nii.gz`), label, shape, createHeader({ shape, affine, dtype: 'uint8' }));
  }
  const datasetJson = {
    channel_names: { '0': 'MRI' },
    labels: { background: 0, structure: 1, appendix: 2 },
    numTraining: nTr,
    file_ending: '.nii.gz',
    name: datasetName,
    description: 'nnunet-ts demo data: two structures in a noisy, bias-field-corrupted volume; anisotropic spacing, rotated affine',
  };
  await writeFile(path.join(tmp, 'dataset.json'), `${JSON.stringify(datasetJson, null, 4)}\n`);
  await rm(final, { recursive: true, force: true });
  await mkdir(options.rawDir, { recursive: true });
  await rename(tmp, final);
  return { datasetName, datasetDir: final, testImagesDir: path.join(final, 'imagesTs'), testLabelsDir: path.join(final, 'labelsTs') };
}

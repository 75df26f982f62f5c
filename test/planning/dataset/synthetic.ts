/** Tiny synthetic NIfTI files and raw datasets for the dataset tests. */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createHeader, writeNifti, type NiftiDtype, type VoxelArray } from '../../../src/io/nifti.js';

export const SHAPE = [3, 4, 5];

/** 1 mm x 1.5 mm x 2 mm voxels at (10, -20, 30) unless `spacing` / `origin` / `flipX` say otherwise. */
export function affineFor(options: { spacing?: number[]; origin?: number[]; flipX?: boolean } = {}): number[][] {
  const [sx, sy, sz] = options.spacing ?? [1, 1.5, 2];
  const [ox, oy, oz] = options.origin ?? [10, -20, 30];
  return [
    [options.flipX ? -sx : sx, 0, 0, ox],
    [0, sy, 0, oy],
    [0, 0, sz, oz],
    [0, 0, 0, 1],
  ];
}

/** Writes `data` (array shape `shape`) as a NIfTI file, creating folders as needed. */
export async function writeVolume(
  file: string,
  data: VoxelArray,
  options: { shape?: number[]; dtype?: NiftiDtype; affine?: number[][]; version?: 1 | 2 } = {},
): Promise<void> {
  const shape = options.shape ?? SHAPE;
  await mkdir(path.dirname(file), { recursive: true });
  const header = createHeader({ shape, affine: options.affine ?? affineFor(), dtype: options.dtype ?? 'float32', version: options.version });
  await writeNifti(file, data, shape, header, { dtype: options.dtype });
}

/** A float32 image with a ramp of values. */
export const image = (n = 60): Float32Array => Float32Array.from({ length: n }, (_, i) => i * 0.5 - 3);

/** A uint8 label map cycling through `values`. */
export const label = (values: number[] = [0, 1, 2], n = 60): Uint8Array => Uint8Array.from({ length: n }, (_, i) => values[i % values.length]);

export async function writeJson(file: string, value: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(value, null, 2));
}

export const datasetJson = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  channel_names: { '0': 'CT', '1': 'MR' },
  labels: { background: 0, liver: 1, tumour: 2 },
  numTraining: 1,
  file_ending: '.nii.gz',
  ...overrides,
});

/** A complete, valid two-channel case. */
export async function writeCase(datasetDir: string, id: string): Promise<void> {
  await writeVolume(path.join(datasetDir, 'imagesTr', `${id}_0000.nii.gz`), image());
  await writeVolume(path.join(datasetDir, 'imagesTr', `${id}_0001.nii.gz`), image());
  await writeVolume(path.join(datasetDir, 'labelsTr', `${id}.nii.gz`), label(), { dtype: 'uint8' });
}

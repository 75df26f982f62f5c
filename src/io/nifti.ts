/**
 * Reading and writing NIfTI-1/-2 volumes (.nii, .nii.gz). Arrays are in C order with the NIfTI dims
 * reversed ([z, y, x]), as SimpleITK's GetArrayFromImage returns them, so the file's voxel bytes are the array.
 */
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { UserError } from '../errors.js';
import { writeFileAtomic } from './atomic-write.js';
import {
  NIFTI_DTYPES,
  NiftiFormatError,
  headerAffine,
  parseHeader,
  serializeHeader,
  storedValueFields,
  type NiftiDtype,
  type NiftiHeader,
} from './nifti-header.js';

export { createHeader, headerAffine, itkGeometry } from './nifti-header.js';
export type { ItkGeometry, NiftiDtype, NiftiHeader } from './nifti-header.js';

export type VoxelArray = Uint8Array | Int8Array | Int16Array | Uint16Array | Int32Array | Float32Array | Float64Array;

export interface NiftiVolume {
  /** C-order voxels of shape `shape`; scaled to Float32Array when scl_slope/scl_inter are active. */
  data: VoxelArray;
  /** NIfTI dims reversed: [z, y, x] for 3D, [t, z, y, x] for 4D. */
  shape: number[];
  /** Spatial pixdim reversed to match `shape`: [sz, sy, sx]. */
  spacing: number[];
  /** 4x4 voxel (i, j, k) -> world RAS+ mm, as nibabel's img.affine. */
  affine: number[][];
  header: NiftiHeader;
  path: string;
}

type VoxelArrayConstructor = new (length: number) => VoxelArray;

const ARRAY_TYPES: Record<NiftiDtype, VoxelArrayConstructor> = {
  uint8: Uint8Array,
  int8: Int8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  float32: Float32Array,
  float64: Float64Array,
};

/** Value range of the integer dtypes, to refuse lossy conversions when writing. */
const INT_RANGES: Partial<Record<NiftiDtype, [number, number]>> = {
  uint8: [0, 255],
  int8: [-128, 127],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
};

/** The NIfTI dtype matching a typed array's element type. */
export function dtypeOfArray(data: VoxelArray): NiftiDtype {
  const entry = Object.entries(ARRAY_TYPES).find(([, ctor]) => data instanceof ctor);
  if (!entry) throw new Error('dtypeOfArray: unsupported array type');
  return entry[0] as NiftiDtype;
}

const isGzip = (b: Uint8Array): boolean => b.byteLength >= 2 && b[0] === 0x1f && b[1] === 0x8b;

/** Copies the voxel bytes into a fresh (aligned) typed array, swapping byte order for big-endian files. */
function voxelsFromBytes(bytes: Uint8Array, header: NiftiHeader, littleEndian: boolean): VoxelArray {
  const count = header.dims.reduce((a, b) => a * b, 1);
  const { bytes: width } = NIFTI_DTYPES[header.datatype];
  const out = new ARRAY_TYPES[header.datatype](count);
  const outBytes = new Uint8Array(out.buffer);
  outBytes.set(bytes);
  if (!littleEndian && width > 1) {
    for (let i = 0; i < outBytes.length; i += width) outBytes.subarray(i, i + width).reverse();
  }
  return out;
}

/** nibabel's rule: a slope of 0 or a non-finite slope means "unscaled"; a non-finite intercept counts as 0. */
function scaling(header: NiftiHeader): { slope: number; inter: number } | null {
  const slope = header.sclSlope;
  const inter = Number.isFinite(header.sclInter) ? header.sclInter : 0;
  if (!Number.isFinite(slope) || slope === 0 || (slope === 1 && inter === 0)) return null;
  return { slope, inter };
}

/** Decodes an in-memory NIfTI file (already gunzipped); `path` is only for messages. */
function decodeNifti(bytes: Uint8Array, path: string): NiftiVolume {
  let parsed: ReturnType<typeof parseHeader>;
  try {
    parsed = parseHeader(bytes);
  } catch (err) {
    if (err instanceof NiftiFormatError) throw new UserError(`${path}: ${err.message}`);
    throw new UserError(`${path}: truncated or corrupt NIfTI header (${(err as Error).message})`);
  }
  const { header, voxOffset, littleEndian } = parsed;
  const count = header.dims.reduce((a, b) => a * b, 1);
  const nbytes = count * NIFTI_DTYPES[header.datatype].bytes;
  if (!Number.isInteger(voxOffset) || voxOffset < 0 || voxOffset + nbytes > bytes.byteLength) {
    throw new UserError(
      `${path}: truncated or corrupt: the header promises ${nbytes} bytes of voxels at offset ${voxOffset}, ` +
        `but the file has ${bytes.byteLength} bytes`,
    );
  }
  let data = voxelsFromBytes(bytes.subarray(voxOffset, voxOffset + nbytes), header, littleEndian);
  const scl = scaling(header);
  if (scl) {
    const scaled = new Float32Array(count);
    for (let i = 0; i < count; i++) scaled[i] = data[i] * scl.slope + scl.inter;
    data = scaled;
  }
  const nSpatial = Math.min(header.dims.length, 3);
  return {
    data,
    shape: [...header.dims].reverse(),
    spacing: header.pixdim.slice(1, nSpatial + 1).reverse(),
    affine: headerAffine(header),
    header,
    path,
  };
}

/** Reads a .nii or .nii.gz file (gzip detected by its magic bytes, not the name). */
export async function readNifti(path: string): Promise<NiftiVolume> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new UserError(`${path}: file not found`);
    throw err;
  }
  if (isGzip(bytes)) {
    try {
      bytes = await promisify(gunzip)(bytes);
    } catch (err) {
      throw new UserError(`${path}: truncated or corrupt gzip data (${(err as Error).message})`);
    }
  }
  return decodeNifti(bytes, path);
}

/** `data` converted to `dtype`; refuses values an integer dtype cannot hold exactly. */
function convertData(data: VoxelArray, dtype: NiftiDtype, path: string): VoxelArray {
  if (data instanceof ARRAY_TYPES[dtype]) return data;
  const range = INT_RANGES[dtype];
  if (range) {
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (!Number.isInteger(v) || v < range[0] || v > range[1]) {
        throw new Error(`writeNifti ${path}: value ${v} at index ${i} cannot be stored as ${dtype}`);
      }
    }
  }
  const out = new ARRAY_TYPES[dtype](data.length);
  out.set(data);
  return out;
}

/**
 * Writes `data` (C order, array shape `shape`, e.g. [z, y, x]) with the geometry of `like`, whose spatial
 * shape must match. The datatype is `options.dtype` or the array's own; scl_slope 1, scl_inter 0; NIfTI-1 or -2
 * as `like`; gzip when the name ends in .gz. Atomic (temp file, fsync, rename).
 */
export async function writeNifti(
  path: string,
  data: VoxelArray,
  shape: number[],
  like: NiftiHeader,
  options: { dtype?: NiftiDtype } = {},
): Promise<void> {
  if (!/\.nii(\.gz)?$/.test(path)) throw new UserError(`${path}: a NIfTI file name must end in .nii or .nii.gz`);
  const count = shape.reduce((a, b) => a * b, 1);
  if (data.length !== count) {
    throw new Error(`writeNifti ${path}: ${data.length} voxels do not fill shape [${shape.join(', ')}]`);
  }
  const dims = [...shape].reverse();
  const nSpatial = Math.min(like.dims.length, 3);
  const sameSpatial =
    dims.length >= nSpatial && dims.length <= 7 && like.dims.slice(0, nSpatial).every((d, i) => d === dims[i]);
  if (!sameSpatial || dims.length > nSpatial + 1) {
    throw new Error(
      `writeNifti ${path}: shape [${shape.join(', ')}] does not match the spatial shape ` +
        `[${like.dims.slice(0, nSpatial).reverse().join(', ')}] of the reference header`,
    );
  }
  const dtype = options.dtype ?? dtypeOfArray(data);
  const voxels = convertData(data, dtype, path);
  // Axes the reference does not have (a channel axis added to a 3D reference) get pixdim 1.
  const pixdim = [...like.pixdim.slice(0, like.dims.length + 1), 1, 1, 1, 1, 1, 1, 1].slice(0, 8);
  const header: NiftiHeader = {
    ...like,
    dims,
    pixdim,
    ...storedValueFields(dtype),
  };
  const headerBytes = serializeHeader(header);
  const file = new Uint8Array(headerBytes.byteLength + voxels.byteLength);
  file.set(headerBytes);
  file.set(new Uint8Array(voxels.buffer, voxels.byteOffset, voxels.byteLength), headerBytes.byteLength);
  await writeFileAtomic(path, path.endsWith('.gz') ? await promisify(gzip)(file) : file);
}

// NIfTI-1/-2 volumes from and to bytes (.nii, or .nii.gz inflated with fflate), for Node and the browser. The header
// is src/io/nifti-header.ts's parser and serializer; this adds the voxels, their scaling and gzip.
import { gunzipSync, gzipSync } from 'fflate';
import { UserError } from '../errors.js';
import { NIFTI_DTYPES, type NiftiDtype, type NiftiHeader, NiftiFormatError, headerAffine, parseHeader, serializeHeader, storedValueFields, voxelExtent } from '../io/nifti-header.js';

export type { NiftiHeader };

export type VoxelArray = Uint8Array | Int8Array | Int16Array | Uint16Array | Int32Array | Float32Array | Float64Array;

export interface NiftiImage {
  /** C-order voxels of shape `shape`; Float32Array when scl_slope/scl_inter are active. */
  data: VoxelArray;
  /** NIfTI dims reversed: [z, y, x]. */
  shape: number[];
  /** Spatial pixdim reversed to match `shape`. */
  spacing: number[];
  affine: number[][];
  header: NiftiHeader;
}

interface VoxelArrayConstructor {
  new (length: number): VoxelArray;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): VoxelArray;
}

export const VOXEL_ARRAYS: Record<NiftiDtype, VoxelArrayConstructor> = {
  uint8: Uint8Array,
  int8: Int8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  float32: Float32Array,
  float64: Float64Array,
};

const isGzip = (bytes: Uint8Array): boolean => bytes.byteLength >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;

/** nibabel's rule: a slope of 0 or a non-finite slope means "unscaled"; a non-finite intercept counts as 0. */
function scaling(header: NiftiHeader): { slope: number; inter: number } | null {
  const slope = header.sclSlope;
  const inter = Number.isFinite(header.sclInter) ? header.sclInter : 0;
  if (!Number.isFinite(slope) || slope === 0 || (slope === 1 && inter === 0)) return null;
  return { slope, inter };
}

/** Parses a .nii or .nii.gz file's bytes (gzip by its magic); `name` is used in errors. */
export function decodeNifti(fileBytes: Uint8Array, name: string): NiftiImage {
  let bytes: Uint8Array;
  try {
    bytes = isGzip(fileBytes) ? gunzipSync(fileBytes) : fileBytes;
  } catch (err) {
    throw new UserError(`${name}: truncated or corrupt gzip data (${(err as Error).message})`);
  }
  let parsed: ReturnType<typeof parseHeader>;
  try {
    parsed = parseHeader(bytes);
  } catch (err) {
    if (err instanceof NiftiFormatError) throw new UserError(`${name}: ${err.message}`);
    throw err;
  }
  const { header, voxOffset, littleEndian } = parsed;
  const { bytes: nbytes } = voxelExtent(header);
  if (voxOffset + nbytes > bytes.byteLength) {
    throw new UserError(`${name}: truncated or corrupt: the header declares ${nbytes} bytes of voxels at offset ${voxOffset}, the file holds ${bytes.byteLength - voxOffset}`);
  }
  // a fresh, aligned copy: the voxels may start at any offset
  return imageFromVoxelBytes(bytes.slice(voxOffset, voxOffset + nbytes), header, littleEndian);
}

/**
 * The image whose voxels are `raw` (a fresh, exactly sized buffer it takes over: big-endian data is swapped in
 * place), scaled by scl_slope/scl_inter as nibabel does. Shared by decodeNifti and src/io/nifti.ts readNifti.
 */
export function imageFromVoxelBytes(raw: Uint8Array, header: NiftiHeader, littleEndian: boolean): NiftiImage {
  const width = NIFTI_DTYPES[header.datatype].bytes;
  if (!littleEndian && width > 1) for (let i = 0; i < raw.length; i += width) raw.subarray(i, i + width).reverse();
  let data = new VOXEL_ARRAYS[header.datatype](raw.buffer, raw.byteOffset, raw.byteLength / width);
  const scl = scaling(header);
  if (scl) {
    const scaled = new Float32Array(data.length);
    for (let i = 0; i < data.length; i++) scaled[i] = data[i] * scl.slope + scl.inter;
    data = scaled;
  }
  const nSpatial = Math.min(header.dims.length, 3);
  return { data, shape: [...header.dims].reverse(), spacing: header.pixdim.slice(1, nSpatial + 1).reverse(), affine: headerAffine(header), header };
}

/**
 * The uncompressed file of `voxels` (already of the stored dtype) with NIfTI `dims` and the geometry of `like`.
 * Axes `like` does not have (a channel axis added to a 3D reference) get pixdim 1.
 */
export function niftiFileBytes(voxels: VoxelArray, dims: readonly number[], like: NiftiHeader, dtype: NiftiDtype): Uint8Array {
  const pixdim = [...like.pixdim.slice(0, like.dims.length + 1), 1, 1, 1, 1, 1, 1, 1].slice(0, 8);
  const headerBytes = serializeHeader({ ...like, dims: [...dims], pixdim, ...storedValueFields(dtype) });
  const file = new Uint8Array(headerBytes.byteLength + voxels.byteLength);
  file.set(headerBytes);
  file.set(new Uint8Array(voxels.buffer, voxels.byteOffset, voxels.byteLength), headerBytes.byteLength);
  return file;
}

function dtypeOf(data: Uint8Array | Int16Array | Float32Array): NiftiDtype {
  if (data instanceof Uint8Array) return 'uint8';
  return data instanceof Int16Array ? 'int16' : 'float32';
}

/**
 * A .nii (or gzipped .nii.gz) file of `data` (C order, array shape `shape`) with the geometry of `like`, whose
 * spatial dims it must share: what src/io/nifti.ts writeNifti writes, as bytes.
 */
export function encodeNifti(data: Uint8Array | Int16Array | Float32Array, shape: readonly number[], like: NiftiHeader, options: { gzip: boolean }): Uint8Array {
  const dims = [...shape].reverse();
  const nSpatial = Math.min(like.dims.length, 3);
  if (dims.length !== nSpatial || like.dims.slice(0, nSpatial).some((d, i) => d !== dims[i])) {
    throw new Error(`encodeNifti: shape [${shape.join(', ')}] does not match the reference header's [${like.dims.slice(0, nSpatial).reverse().join(', ')}]`);
  }
  const file = niftiFileBytes(data, dims, like, dtypeOf(data));
  // mtime 0: the same volume always gives the same bytes
  return options.gzip ? gzipSync(file, { level: 6, mtime: 0 }) : file;
}

/**
 * The NIfTI-1/-2 header as a typed struct: parsing (through nifti-reader-js), serialization
 * (our own; nifti-reader-js 0.8 writes a wrong NIfTI-2 magic), creation from an affine, and the
 * derived geometry (nibabel affine, SimpleITK origin/spacing/direction).
 */
import { NIFTI1, NIFTI2, isNIFTI1, isNIFTI2, readHeader } from 'nifti-reader-js';
import { affineToQform, fallbackAffine, qformAffine, type Mat4 } from './nifti-affine.js';

export type NiftiDtype = 'uint8' | 'int8' | 'int16' | 'uint16' | 'int32' | 'float32' | 'float64';

/** NIfTI datatype code and bytes per voxel of each supported dtype. */
export const NIFTI_DTYPES: Record<NiftiDtype, { code: number; bytes: number }> = {
  uint8: { code: 2, bytes: 1 },
  int8: { code: 256, bytes: 1 },
  int16: { code: 4, bytes: 2 },
  uint16: { code: 512, bytes: 2 },
  int32: { code: 8, bytes: 4 },
  float32: { code: 16, bytes: 4 },
  float64: { code: 64, bytes: 8 },
};

/** Names of the NIfTI datatypes we do not read, for error messages. */
const UNSUPPORTED_DTYPE_NAMES: Record<number, string> = {
  0: 'unknown',
  1: 'binary',
  32: 'complex64',
  128: 'rgb24',
  768: 'uint32',
  1024: 'int64',
  1280: 'uint64',
  1536: 'float128',
  1792: 'complex128',
  2048: 'complex256',
  2304: 'rgba32',
};

function dtypeName(code: number): string {
  const supported = Object.entries(NIFTI_DTYPES).find(([, v]) => v.code === code);
  return supported ? supported[0] : `${UNSUPPORTED_DTYPE_NAMES[code] ?? 'unknown'} (code ${code})`;
}

export interface NiftiHeader {
  version: 1 | 2;
  /** dim[1..dim[0]]: the file's axis order (x, y, z, t, ...), i.e. the reverse of the array shape. */
  dims: number[];
  /** pixdim[0..7]; pixdim[0] is qfac. */
  pixdim: number[];
  datatype: NiftiDtype;
  sclSlope: number;
  sclInter: number;
  calMin: number;
  calMax: number;
  qformCode: number;
  sformCode: number;
  /** Quaternion b, c, d of the qform. */
  quatern: [number, number, number];
  qoffset: [number, number, number];
  /** srow_x, srow_y, srow_z (3 rows of 4). */
  srow: number[][];
  xyztUnits: number;
  dimInfo: number;
  intentCode: number;
  intentP: [number, number, number];
  intentName: string;
  sliceStart: number;
  sliceEnd: number;
  sliceCode: number;
  sliceDuration: number;
  toffset: number;
  descrip: string;
  auxFile: string;
}

const NIFTI1_HEADER_BYTES = 348;
const NIFTI2_HEADER_BYTES = 540;
/** Header + the 4-byte extension flag: where the voxels start in files we write. */
const voxOffsetFor = (version: 1 | 2): number => (version === 1 ? 352 : 544);

/** Thrown by parseHeader for files that are not NIfTI or that we do not support; the caller adds the file name. */
export class NiftiFormatError extends Error {}

/**
 * Parses the header at the start of `bytes` (already gunzipped).
 * Returns the header, its vox_offset and whether the file is little endian.
 */
export function parseHeader(bytes: Uint8Array): { header: NiftiHeader; voxOffset: number; littleEndian: boolean } {
  // A copy: a Buffer's .buffer may be a larger shared pool.
  const head = new Uint8Array(bytes.subarray(0, 1024)).buffer;
  let raw: NIFTI1 | NIFTI2;
  if (isNIFTI1(head) || isNIFTI2(head)) raw = readHeader(head);
  else if (bytes.byteLength < NIFTI1_HEADER_BYTES) {
    throw new NiftiFormatError(`truncated or corrupt: ${bytes.byteLength} bytes, shorter than a NIfTI header`);
  } else throw new NiftiFormatError('not a NIfTI-1 or NIfTI-2 file (no n+1/n+2 magic)');

  const version = raw instanceof NIFTI2 ? 2 : 1;
  if (version === 2 && bytes.byteLength < NIFTI2_HEADER_BYTES) {
    throw new NiftiFormatError(`truncated or corrupt: ${bytes.byteLength} bytes, shorter than a NIfTI-2 header`);
  }
  const ndim = raw.dims[0];
  const dims = raw.dims.slice(1, ndim + 1);
  if (!(ndim >= 1 && ndim <= 7) || dims.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new NiftiFormatError(`truncated or corrupt: invalid dim field [${raw.dims.join(', ')}]`);
  }
  const datatype = Object.entries(NIFTI_DTYPES).find(([, v]) => v.code === raw.datatypeCode)?.[0] as NiftiDtype | undefined;
  if (!datatype) throw new NiftiFormatError(`unsupported datatype ${dtypeName(raw.datatypeCode)}`);

  // nifti-reader-js keeps srow only when it prefers the sform, so read it from the raw header.
  const view = new DataView(head);
  const srow = [0, 1, 2].map((r) =>
    [0, 1, 2, 3].map((c) =>
      version === 1
        ? view.getFloat32(280 + (r * 4 + c) * 4, raw.littleEndian)
        : view.getFloat64(400 + (r * 4 + c) * 8, raw.littleEndian),
    ),
  );
  const header: NiftiHeader = {
    version,
    dims,
    pixdim: raw.pixDims.slice(0, 8),
    datatype,
    sclSlope: raw.scl_slope,
    sclInter: raw.scl_inter,
    calMin: raw.cal_min,
    calMax: raw.cal_max,
    qformCode: raw.qform_code,
    sformCode: raw.sform_code,
    quatern: [raw.quatern_b, raw.quatern_c, raw.quatern_d],
    qoffset: [raw.qoffset_x, raw.qoffset_y, raw.qoffset_z],
    srow,
    xyztUnits: raw.xyzt_units,
    dimInfo: raw.dim_info,
    intentCode: raw.intent_code,
    intentP: [raw.intent_p1, raw.intent_p2, raw.intent_p3],
    intentName: raw.intent_name,
    sliceStart: raw.slice_start,
    sliceEnd: raw.slice_end,
    sliceCode: raw.slice_code,
    sliceDuration: raw.slice_duration,
    toffset: raw.toffset,
    descrip: raw.description,
    auxFile: raw.aux_file,
  };
  return { header, voxOffset: raw.vox_offset, littleEndian: raw.littleEndian };
}

function writeString(view: DataView, offset: number, maxLen: number, s: string): void {
  const bytes = new TextEncoder().encode(s).subarray(0, maxLen - 1);
  bytes.forEach((b, i) => view.setUint8(offset + i, b));
}

/** Serializes `header` (little endian) followed by a zero extension flag: vox_offset bytes in all. */
export function serializeHeader(header: NiftiHeader): Uint8Array {
  const voxOffset = voxOffsetFor(header.version);
  const out = new Uint8Array(voxOffset);
  const v = new DataView(out.buffer);
  const le = true;
  const dim = [header.dims.length, ...header.dims, 1, 1, 1, 1, 1, 1, 1].slice(0, 8);
  const pixdim = [...header.pixdim, 1, 1, 1, 1, 1, 1, 1, 1].slice(0, 8);
  const { code, bytes } = NIFTI_DTYPES[header.datatype];
  if (header.version === 1) {
    v.setInt32(0, NIFTI1_HEADER_BYTES, le);
    v.setUint8(38, 'r'.charCodeAt(0));
    v.setUint8(39, header.dimInfo);
    dim.forEach((d, i) => v.setInt16(40 + 2 * i, d, le));
    header.intentP.forEach((p, i) => v.setFloat32(56 + 4 * i, p, le));
    v.setInt16(68, header.intentCode, le);
    v.setInt16(70, code, le);
    v.setInt16(72, bytes * 8, le);
    v.setInt16(74, header.sliceStart, le);
    pixdim.forEach((p, i) => v.setFloat32(76 + 4 * i, p, le));
    v.setFloat32(108, voxOffset, le);
    v.setFloat32(112, header.sclSlope, le);
    v.setFloat32(116, header.sclInter, le);
    v.setInt16(120, header.sliceEnd, le);
    v.setUint8(122, header.sliceCode);
    v.setUint8(123, header.xyztUnits);
    v.setFloat32(124, header.calMax, le);
    v.setFloat32(128, header.calMin, le);
    v.setFloat32(132, header.sliceDuration, le);
    v.setFloat32(136, header.toffset, le);
    writeString(v, 148, 80, header.descrip);
    writeString(v, 228, 24, header.auxFile);
    v.setInt16(252, header.qformCode, le);
    v.setInt16(254, header.sformCode, le);
    [...header.quatern, ...header.qoffset].forEach((q, i) => v.setFloat32(256 + 4 * i, q, le));
    header.srow.flat().forEach((s, i) => v.setFloat32(280 + 4 * i, s, le));
    writeString(v, 328, 16, header.intentName);
    out.set([0x6e, 0x2b, 0x31, 0x00], 344); // "n+1\0"
  } else {
    v.setInt32(0, NIFTI2_HEADER_BYTES, le);
    out.set([0x6e, 0x2b, 0x32, 0x00, 0x0d, 0x0a, 0x1a, 0x0a], 4); // "n+2\0\r\n\032\n"
    v.setInt16(12, code, le);
    v.setInt16(14, bytes * 8, le);
    dim.forEach((d, i) => v.setBigInt64(16 + 8 * i, BigInt(d), le));
    header.intentP.forEach((p, i) => v.setFloat64(80 + 8 * i, p, le));
    pixdim.forEach((p, i) => v.setFloat64(104 + 8 * i, p, le));
    v.setBigInt64(168, BigInt(voxOffset), le);
    v.setFloat64(176, header.sclSlope, le);
    v.setFloat64(184, header.sclInter, le);
    v.setFloat64(192, header.calMax, le);
    v.setFloat64(200, header.calMin, le);
    v.setFloat64(208, header.sliceDuration, le);
    v.setFloat64(216, header.toffset, le);
    v.setBigInt64(224, BigInt(header.sliceStart), le);
    v.setBigInt64(232, BigInt(header.sliceEnd), le);
    writeString(v, 240, 80, header.descrip);
    writeString(v, 320, 24, header.auxFile);
    v.setInt32(344, header.qformCode, le);
    v.setInt32(348, header.sformCode, le);
    [...header.quatern, ...header.qoffset].forEach((q, i) => v.setFloat64(352 + 8 * i, q, le));
    header.srow.flat().forEach((s, i) => v.setFloat64(400 + 8 * i, s, le));
    v.setInt32(496, header.sliceCode, le);
    v.setInt32(500, header.xyztUnits, le);
    v.setInt32(504, header.intentCode, le);
    writeString(v, 508, 16, header.intentName);
    v.setUint8(524, header.dimInfo);
  }
  return out;
}

/** The 4x4 voxel (i, j, k) -> world RAS+ mm matrix exactly as nibabel's img.affine: sform, else qform, else pixdim. */
export function headerAffine(header: NiftiHeader): Mat4 {
  if (header.sformCode !== 0) return [...header.srow.map((r) => [...r]), [0, 0, 0, 1]];
  if (header.qformCode !== 0) return qformAffine(header.quatern, header.qoffset, header.pixdim);
  return fallbackAffine(header.dims, header.pixdim);
}

/** Geometry as SimpleITK's GetSpacing/GetOrigin/GetDirection report it: ITK (x, y, z) axis order, LPS world. */
export interface ItkGeometry {
  spacing: number[];
  origin: number[];
  /** Row-major direction matrix, flattened (n x n for n spatial axes). */
  direction: number[];
}

/**
 * SimpleITK-style geometry of the spatial axes (at most 3), which nnU-Net's SimpleITKIO compares between
 * channels and labels. Spacing is pixdim as ITK reads it; origin and direction come from the nibabel affine
 * with x and y negated (RAS -> LPS). The spacing in array order is this spacing reversed.
 */
export function itkGeometry(header: NiftiHeader): ItkGeometry {
  const n = Math.min(header.dims.length, 3);
  const affine = headerAffine(header);
  const lps = [-1, -1, 1];
  const spacing = header.pixdim.slice(1, n + 1).map(Math.abs);
  const origin = [0, 1, 2].slice(0, n).map((r) => lps[r] * affine[r][3] + 0);
  const norms = [0, 1, 2].map((c) => Math.hypot(affine[0][c], affine[1][c], affine[2][c]) || 1);
  const direction: number[] = [];
  // "+ 0" turns -0 into 0 so equal geometries print and compare alike.
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) direction.push((lps[r] * affine[r][c]) / norms[c] + 0);
  return { spacing, origin, direction };
}

/**
 * The fields that describe how stored values are read: voxels of type `dtype`, stored as they are (no scaling, no
 * display range, no intent). Shared by fresh headers and by headers copied from a reference image.
 */
export function storedValueFields(dtype: NiftiDtype): Pick<NiftiHeader, 'datatype' | 'sclSlope' | 'sclInter' | 'calMin' | 'calMax' | 'intentCode' | 'intentP' | 'intentName'> {
  return { datatype: dtype, sclSlope: 1, sclInter: 0, calMin: 0, calMax: 0, intentCode: 0, intentP: [0, 0, 0], intentName: '' };
}

/**
 * A fresh header for a volume of array shape `shape` ([z, y, x] or [t, z, y, x]) placed in the world by
 * `affine` (voxel (i, j, k) = (x, y, z) index -> RAS+ mm). qform and sform both hold the affine, with code 1
 * (scanner), as SimpleITK writes them; units mm (and s for 4D).
 */
export function createHeader(options: { shape: number[]; affine: Mat4; dtype: NiftiDtype; version?: 1 | 2 }): NiftiHeader {
  const { shape, affine, dtype } = options;
  if (shape.length < 2 || shape.length > 4 || shape.some((s) => !Number.isInteger(s) || s < 1)) {
    throw new Error(`createHeader: shape must have 2 to 4 positive integer entries, got [${shape.join(', ')}]`);
  }
  const qform = affineToQform(affine);
  const dims = [...shape].reverse();
  const pixdim = [qform.qfac, ...qform.zooms, 1, 1, 1, 1];
  return {
    version: options.version ?? 1,
    dims,
    pixdim,
    ...storedValueFields(dtype),
    qformCode: 1,
    sformCode: 1,
    quatern: qform.quatern,
    qoffset: qform.qoffset,
    srow: affine.slice(0, 3).map((r) => [...r]),
    xyztUnits: dims.length > 3 ? 2 | 8 : 2,
    dimInfo: 0,
    sliceStart: 0,
    sliceEnd: 0,
    sliceCode: 0,
    sliceDuration: 0,
    toffset: 0,
    descrip: 'nnunet-ts',
    auxFile: '',
  };
}

/**
 * The NIfTI-1/-2 header as a typed struct: parsing and validation, serialization, creation from an affine,
 * and the derived geometry (nibabel affine, SimpleITK origin/spacing/direction). Parsing is our own rather than
 * nifti-reader-js's: that one walks extensions with sizes taken from the file (a negative esize loops forever)
 * and treats a header whose first byte is 0x1f as gzip.
 */
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

export const NIFTI1_HEADER_BYTES = 348;
export const NIFTI2_HEADER_BYTES = 540;
/** Header + the 4-byte extension flag: where the voxels start in files we write. */
const voxOffsetFor = (version: 1 | 2): number => (version === 1 ? 352 : 544);

/** Thrown by parseHeader for files that are not NIfTI or that we do not support; the caller adds the file name. */
export class NiftiFormatError extends Error {}

const hasMagic = (bytes: Uint8Array, at: number, magic: string): boolean =>
  bytes.byteLength >= at + magic.length && [...magic].every((ch, i) => bytes[at + i] === ch.charCodeAt(0));

/**
 * The header size the first 348 bytes announce through their magic: 348 (NIfTI-1, "n+1" at 344) or 540
 * (NIfTI-2, "n+2" at 4), so a reader knows how much to read before parsing.
 */
export function headerBytesOf(prefix: Uint8Array): number {
  return !hasMagic(prefix, 344, 'n+1') && hasMagic(prefix, 4, 'n+2') ? NIFTI2_HEADER_BYTES : NIFTI1_HEADER_BYTES;
}

type SlotKind = 'u8' | 'i16' | 'i32' | 'i64' | 'f32' | 'f64' | 'str';
/** Where a header field lives: byte offset, kind, and element count (bytes, for text). */
export type HeaderSlot = readonly [at: number, kind: SlotKind, count?: number];
type FieldName =
  | 'sizeof_hdr' | 'dim_info' | 'dim' | 'intent_p' | 'intent_code' | 'datatype' | 'bitpix' | 'slice_start' | 'pixdim'
  | 'vox_offset' | 'scl_slope' | 'scl_inter' | 'slice_end' | 'slice_code' | 'xyzt_units' | 'cal_max' | 'cal_min'
  | 'slice_duration' | 'toffset' | 'descrip' | 'aux_file' | 'qform_code' | 'sform_code' | 'quatern' | 'qoffset'
  | 'srow' | 'intent_name';

/** The NIfTI-1 and NIfTI-2 header layouts (nifti1.h, nifti2.h): one table serves the reader and the writer. */
export const NIFTI_LAYOUT: Record<1 | 2, Record<FieldName, HeaderSlot>> = {
  1: {
    sizeof_hdr: [0, 'i32'], dim_info: [39, 'u8'], dim: [40, 'i16', 8], intent_p: [56, 'f32', 3], intent_code: [68, 'i16'],
    datatype: [70, 'i16'], bitpix: [72, 'i16'], slice_start: [74, 'i16'], pixdim: [76, 'f32', 8], vox_offset: [108, 'f32'],
    scl_slope: [112, 'f32'], scl_inter: [116, 'f32'], slice_end: [120, 'i16'], slice_code: [122, 'u8'], xyzt_units: [123, 'u8'],
    cal_max: [124, 'f32'], cal_min: [128, 'f32'], slice_duration: [132, 'f32'], toffset: [136, 'f32'], descrip: [148, 'str', 80],
    aux_file: [228, 'str', 24], qform_code: [252, 'i16'], sform_code: [254, 'i16'], quatern: [256, 'f32', 3],
    qoffset: [268, 'f32', 3], srow: [280, 'f32', 12], intent_name: [328, 'str', 16],
  },
  2: {
    sizeof_hdr: [0, 'i32'], datatype: [12, 'i16'], bitpix: [14, 'i16'], dim: [16, 'i64', 8], intent_p: [80, 'f64', 3],
    pixdim: [104, 'f64', 8], vox_offset: [168, 'i64'], scl_slope: [176, 'f64'], scl_inter: [184, 'f64'], cal_max: [192, 'f64'],
    cal_min: [200, 'f64'], slice_duration: [208, 'f64'], toffset: [216, 'f64'], slice_start: [224, 'i64'], slice_end: [232, 'i64'],
    descrip: [240, 'str', 80], aux_file: [320, 'str', 24], qform_code: [344, 'i32'], sform_code: [348, 'i32'],
    quatern: [352, 'f64', 3], qoffset: [376, 'f64', 3], srow: [400, 'f64', 12], slice_code: [496, 'i32'],
    xyzt_units: [500, 'i32'], intent_code: [504, 'i32'], intent_name: [508, 'str', 16], dim_info: [524, 'u8'],
  },
};

const SLOT_BYTES: Record<SlotKind, number> = { u8: 1, i16: 2, i32: 4, i64: 8, f32: 4, f64: 8, str: 1 };

/** Header fields stored as they are in NiftiHeader (the rest, dims, datatype, srow, vox_offset, need converting). */
const PLAIN_FIELDS: [FieldName, keyof NiftiHeader][] = [
  ['pixdim', 'pixdim'], ['scl_slope', 'sclSlope'], ['scl_inter', 'sclInter'], ['cal_max', 'calMax'], ['cal_min', 'calMin'],
  ['qform_code', 'qformCode'], ['sform_code', 'sformCode'], ['quatern', 'quatern'], ['qoffset', 'qoffset'],
  ['xyzt_units', 'xyztUnits'], ['dim_info', 'dimInfo'], ['intent_code', 'intentCode'], ['intent_p', 'intentP'],
  ['intent_name', 'intentName'], ['slice_start', 'sliceStart'], ['slice_end', 'sliceEnd'], ['slice_code', 'sliceCode'],
  ['slice_duration', 'sliceDuration'], ['toffset', 'toffset'], ['descrip', 'descrip'], ['aux_file', 'auxFile'],
];

type FieldValue = number | number[] | string;

/** Reads every field of the `version` layout; 64-bit integers beyond 2^53 are refused rather than rounded. */
function readFields(bytes: Uint8Array, version: 1 | 2, le: boolean): Record<FieldName, FieldValue> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const one = (at: number, kind: SlotKind, field: string): number => {
    if (kind === 'u8') return view.getUint8(at);
    if (kind === 'i16') return view.getInt16(at, le);
    if (kind === 'i32') return view.getInt32(at, le);
    if (kind === 'f32') return view.getFloat32(at, le);
    if (kind === 'f64') return view.getFloat64(at, le);
    const v = view.getBigInt64(at, le);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new NiftiFormatError(`corrupt header: ${field} is ${v}, beyond any real file`);
    }
    return Number(v);
  };
  const out = {} as Record<FieldName, FieldValue>;
  for (const [name, [at, kind, count]] of Object.entries(NIFTI_LAYOUT[version]) as [FieldName, HeaderSlot][]) {
    if (kind === 'str') {
      // Up to the first NUL, latin1, as nibabel decodes it (without Buffer: this parser also runs in the browser;
      // fields are at most 80 bytes, so the spread is safe).
      const field = bytes.subarray(at, at + count!);
      const nul = field.indexOf(0);
      out[name] = String.fromCharCode(...field.subarray(0, nul < 0 ? field.length : nul));
    } else if (count === undefined) {
      out[name] = one(at, kind, name);
    } else {
      out[name] = Array.from({ length: count }, (_, i) => one(at + i * SLOT_BYTES[kind], kind, `${name}[${i}]`));
    }
  }
  return out;
}

/** Writes `values` into `view` at the `version` layout, little endian. */
function writeFields(view: DataView, version: 1 | 2, values: Record<FieldName, FieldValue>): void {
  for (const [name, [at, kind, count]] of Object.entries(NIFTI_LAYOUT[version]) as [FieldName, HeaderSlot][]) {
    const value = values[name];
    if (typeof value === 'string') {
      new TextEncoder().encode(value).subarray(0, count! - 1).forEach((b, i) => view.setUint8(at + i, b));
      continue;
    }
    (typeof value === 'number' ? [value] : value).forEach((v, i) => {
      const to = at + i * SLOT_BYTES[kind];
      if (kind === 'u8') view.setUint8(to, v);
      else if (kind === 'i16') view.setInt16(to, v, true);
      else if (kind === 'i32') view.setInt32(to, v, true);
      else if (kind === 'i64') view.setBigInt64(to, BigInt(v), true);
      else if (kind === 'f32') view.setFloat32(to, v, true);
      else view.setFloat64(to, v, true);
    });
  }
}

/** The fields as stored, before any validation. */
interface RawHeader {
  header: Omit<NiftiHeader, 'datatype' | 'dims'>;
  dim: number[];
  datatypeCode: number;
  bitpix: number;
  voxOffset: number;
}

function readRaw(bytes: Uint8Array, version: 1 | 2, le: boolean): RawHeader {
  const fields = readFields(bytes, version, le);
  const header: Record<string, FieldValue | number[][]> = { version };
  for (const [name, key] of PLAIN_FIELDS) header[key] = fields[name];
  const srow = fields.srow as number[];
  header.srow = [0, 1, 2].map((r) => srow.slice(4 * r, 4 * r + 4));
  return {
    header: header as unknown as RawHeader['header'],
    dim: fields.dim as number[],
    datatypeCode: fields.datatype as number,
    bitpix: fields.bitpix as number,
    voxOffset: fields.vox_offset as number,
  };
}

/** Byte order from sizeof_hdr (348 or 540), as nibabel and niftilib decide it. */
function byteOrder(bytes: Uint8Array, size: number): boolean {
  const view = new DataView(bytes.buffer, bytes.byteOffset, 4);
  if (view.getInt32(0, true) === size) return true;
  if (view.getInt32(0, false) === size) return false;
  throw new NiftiFormatError(`corrupt header: sizeof_hdr is ${view.getInt32(0, true)}, not ${size}`);
}

/** Voxel count and data bytes of a validated header (both exact integers below 2^53). */
export function voxelExtent(header: Pick<NiftiHeader, 'dims' | 'datatype'>): { count: number; bytes: number } {
  const count = header.dims.reduce((a, b) => a * b, 1);
  return { count, bytes: count * NIFTI_DTYPES[header.datatype].bytes };
}

/** "2^40" for large powers of two, the plain number otherwise: how a voxel count reads best in a message. */
export function formatCount(n: bigint | number): string {
  const b = BigInt(n);
  const log2 = b.toString(2).length - 1;
  return b >= 1n << 20n && b === 1n << BigInt(log2) ? `2^${log2}` : b.toString();
}

/**
 * Refuses headers whose fields cannot describe a real volume, before anything is sized from them:
 * dims, datatype and bitpix, vox_offset, scaling, voxel sizes and the qform/sform. Returns the datatype.
 */
function validate(raw: RawHeader, headerSize: number): { datatype: NiftiDtype; dims: number[] } {
  const bad = (why: string): never => {
    throw new NiftiFormatError(`corrupt header: ${why}`);
  };
  const { dim, header } = raw;
  const ndim = dim[0];
  if (!(ndim >= 1 && ndim <= 7)) bad(`dim[0] is ${ndim}, not a number of axes from 1 to 7 (dim field [${dim.join(', ')}])`);
  const dims = dim.slice(1, ndim + 1);
  const badAxis = dims.findIndex((d) => d < 1);
  if (badAxis >= 0) bad(`dim[${badAxis + 1}] is ${dims[badAxis]}: every axis needs at least one voxel (dim field [${dim.join(', ')}])`);
  const datatype = (Object.keys(NIFTI_DTYPES) as NiftiDtype[]).find((d) => NIFTI_DTYPES[d].code === raw.datatypeCode);
  if (!datatype) throw new NiftiFormatError(`unsupported datatype ${dtypeName(raw.datatypeCode)}`);
  const bits = NIFTI_DTYPES[datatype].bytes * 8;
  if (raw.bitpix !== bits) bad(`bitpix is ${raw.bitpix}, but datatype ${datatype} has ${bits} bits per voxel`);
  // The product in BigInt: int64 dims (or seven int16 ones) can overflow a double's exact range.
  const count = dims.reduce((a, d) => a * BigInt(d), 1n);
  if (count * BigInt(bits / 8) > BigInt(Number.MAX_SAFE_INTEGER)) {
    bad(`header declares ${formatCount(count)} voxels (dims ${dims.join('×')}): the size overflows`);
  }
  const off = raw.voxOffset;
  if (!Number.isInteger(off) || off < headerSize) {
    bad(`vox_offset is ${off}: the voxels must start at a whole byte after the ${headerSize}-byte header`);
  }
  // NaN is how nibabel writes "no scaling", and reads as such; an infinite factor has no meaning.
  for (const [name, v] of [['scl_slope', header.sclSlope], ['scl_inter', header.sclInter]] as const) {
    if (v === Infinity || v === -Infinity) bad(`${name} is ${v}`);
  }
  const nSpatial = Math.min(ndim, 3);
  header.pixdim.slice(1, nSpatial + 1).forEach((p, i) => {
    if (!Number.isFinite(p) || p === 0) bad(`pixdim[${i + 1}] is ${p}: a voxel size must be a finite, non-zero number`);
  });
  const finite = (name: string, values: readonly number[]) => {
    if (!values.every(Number.isFinite)) bad(`${name} holds a non-finite value [${values.join(', ')}]`);
  };
  if (header.qformCode !== 0) {
    finite('the qform quaternion', header.quatern);
    finite('the qform offset', header.qoffset);
    // nibabel's tolerance: b^2 + c^2 + d^2 may exceed 1 by float32 rounding only.
    const norm2 = header.quatern.reduce((a, q) => a + q * q, 0);
    if (norm2 > 1 + 3 * 2 ** -23) bad(`the qform quaternion (${header.quatern.join(', ')}) is not a rotation (b²+c²+d² = ${norm2} > 1)`);
  }
  if (header.sformCode !== 0) finite('the sform', header.srow.flat());
  return { datatype, dims };
}

/**
 * Parses and validates the header at the start of `bytes` (already gunzipped; at least the header, the
 * voxels need not follow). Returns the header, its vox_offset and whether the file is little endian.
 */
export function parseHeader(bytes: Uint8Array): { header: NiftiHeader; voxOffset: number; littleEndian: boolean } {
  const v1 = hasMagic(bytes, 344, 'n+1');
  const v2 = !v1 && hasMagic(bytes, 4, 'n+2');
  if (!v1 && !v2) {
    if (bytes.byteLength < NIFTI1_HEADER_BYTES) {
      throw new NiftiFormatError(`truncated or corrupt: ${bytes.byteLength} bytes, shorter than a NIfTI header`);
    }
    if (hasMagic(bytes, 344, 'ni1') || hasMagic(bytes, 4, 'ni2')) {
      throw new NiftiFormatError('a .hdr/.img pair header: convert the pair to a single .nii or .nii.gz file');
    }
    throw new NiftiFormatError('not a NIfTI-1 or NIfTI-2 file (no n+1/n+2 magic)');
  }
  const size = v1 ? NIFTI1_HEADER_BYTES : NIFTI2_HEADER_BYTES;
  if (bytes.byteLength < size) {
    throw new NiftiFormatError(`truncated or corrupt: ${bytes.byteLength} bytes, shorter than a NIfTI-${v1 ? 1 : 2} header`);
  }
  const littleEndian = byteOrder(bytes, size);
  const raw = readRaw(bytes, v1 ? 1 : 2, littleEndian);
  const { datatype, dims } = validate(raw, size);
  const header: NiftiHeader = { ...raw.header, dims, datatype };
  if (!headerAffine(header).flat().every(Number.isFinite)) {
    throw new NiftiFormatError(`corrupt header: the affine is not finite (${JSON.stringify(headerAffine(header))})`);
  }
  return { header, voxOffset: raw.voxOffset, littleEndian };
}

/** Serializes `header` (little endian) followed by a zero extension flag: vox_offset bytes in all. */
export function serializeHeader(header: NiftiHeader): Uint8Array {
  const voxOffset = voxOffsetFor(header.version);
  const out = new Uint8Array(voxOffset);
  const { code, bytes } = NIFTI_DTYPES[header.datatype];
  const values = {
    sizeof_hdr: header.version === 1 ? NIFTI1_HEADER_BYTES : NIFTI2_HEADER_BYTES,
    dim: [header.dims.length, ...header.dims, 1, 1, 1, 1, 1, 1, 1].slice(0, 8),
    datatype: code,
    bitpix: bytes * 8,
    vox_offset: voxOffset,
    srow: header.srow.flat(),
  } as Record<FieldName, FieldValue>;
  for (const [name, key] of PLAIN_FIELDS) values[name] = header[key] as FieldValue;
  values.pixdim = [...header.pixdim, 1, 1, 1, 1, 1, 1, 1, 1].slice(0, 8);
  writeFields(new DataView(out.buffer), header.version, values);
  if (header.version === 1) {
    out[38] = 'r'.charCodeAt(0); // ANALYZE "regular", which old readers check
    out.set([0x6e, 0x2b, 0x31, 0x00], 344); // "n+1\0"
  } else {
    out.set([0x6e, 0x2b, 0x32, 0x00, 0x0d, 0x0a, 0x1a, 0x0a], 4); // "n+2\0\r\n\032\n"
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

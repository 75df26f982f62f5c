/**
 * numpy .npy (format 1.0, little endian, C order) and .npz (zip of .npy) files, readable by np.load.
 * float16 has no JS typed array, so it is held as Float32Array in memory and converted on the way in and out.
 */
import { kMaxLength } from 'node:buffer';
import { readFile } from 'node:fs/promises';
import { crc32, inflateRawSync } from 'node:zlib';
import { zipSync, type Zippable } from 'fflate';
import { UserError } from '../errors.js';
import { printable, readZipDirectory, type ZipMember } from '../torch/serialization/stored-zip.js';
import { writeFileAtomic } from '../atomic-write.js';

export type NpyDtype = 'bool' | 'uint8' | 'int8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'float16' | 'float32' | 'float64';
export type NpyData = Uint8Array | Int8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array;

export interface NpyArray {
  /** C-order values; float16 arrays are Float32Array, bool arrays Uint8Array (0/1). */
  data: NpyData;
  shape: number[];
  dtype: NpyDtype;
}

/** An array to write; `dtype` defaults to the array's own type ('float16' and 'bool' must be asked for). */
export interface NpyInput {
  data: NpyData;
  shape: number[];
  dtype?: NpyDtype;
}

interface NpyConstructor {
  new (length: number): NpyData;
  new (buffer: ArrayBufferLike): NpyData;
}

/** numpy descr (without byte order), bytes per item, and the in-memory array type of each dtype. */
const DTYPES: Record<NpyDtype, { kind: string; bytes: number; memory: NpyConstructor }> = {
  bool: { kind: 'b1', bytes: 1, memory: Uint8Array },
  uint8: { kind: 'u1', bytes: 1, memory: Uint8Array },
  int8: { kind: 'i1', bytes: 1, memory: Int8Array },
  int16: { kind: 'i2', bytes: 2, memory: Int16Array },
  uint16: { kind: 'u2', bytes: 2, memory: Uint16Array },
  int32: { kind: 'i4', bytes: 4, memory: Int32Array },
  uint32: { kind: 'u4', bytes: 4, memory: Uint32Array },
  float16: { kind: 'f2', bytes: 2, memory: Float32Array },
  float32: { kind: 'f4', bytes: 4, memory: Float32Array },
  float64: { kind: 'f8', bytes: 8, memory: Float64Array },
};

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half-precision bits of `value`, rounded to nearest even (via float32, as numpy's astype does). */
function toHalfBits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half (or zero): shift the full mantissa down, rounding to nearest even.
    if (e < -10) return sign;
    const full = mant | 0x800000;
    const shift = 14 - e;
    let half = full >>> shift;
    const rem = full & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (up to infinity).
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

function fromHalfBits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

function defaultDtype(data: NpyData): NpyDtype {
  const found = (Object.keys(DTYPES) as NpyDtype[]).find(
    (d) => d !== 'bool' && d !== 'float16' && data instanceof DTYPES[d].memory,
  );
  if (!found) throw new Error('encodeNpy: unsupported array type');
  return found;
}

/** Little-endian item bytes of `input` in its (given or default) dtype. */
function itemBytes(input: NpyInput, dtype: NpyDtype): Uint8Array {
  const { data } = input;
  if (dtype === 'float16') {
    if (!(data instanceof Float32Array || data instanceof Float64Array)) {
      throw new Error('encodeNpy: float16 needs a Float32Array or Float64Array');
    }
    const out = new Uint16Array(data.length);
    for (let i = 0; i < data.length; i++) out[i] = toHalfBits(data[i]);
    return new Uint8Array(out.buffer);
  }
  if (!(data instanceof DTYPES[dtype].memory)) {
    throw new Error(`encodeNpy: dtype ${dtype} needs a ${DTYPES[dtype].memory.name}, got ${data.constructor.name}`);
  }
  if (dtype === 'bool' && data.some((v) => v !== 0 && v !== 1)) throw new Error('encodeNpy: bool values must be 0 or 1');
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** The .npy bytes of `input` (format 1.0, or 2.0 if the header would not fit 64 KiB). */
export function encodeNpy(input: NpyInput): Uint8Array {
  const dtype = input.dtype ?? defaultDtype(input.data);
  const count = input.shape.reduce((a, b) => a * b, 1);
  if (input.data.length !== count) {
    throw new Error(`encodeNpy: ${input.data.length} values do not fill shape [${input.shape.join(', ')}]`);
  }
  const { kind, bytes } = DTYPES[dtype];
  const descr = `${bytes === 1 ? '|' : '<'}${kind}`;
  const shape = input.shape.length === 1 ? `(${input.shape[0]},)` : `(${input.shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const major = dict.length + 11 > 65535 ? 2 : 1;
  const preamble = major === 1 ? 10 : 12;
  // numpy pads the header with spaces and a newline so the data starts 64-byte aligned.
  dict = dict.padEnd(Math.ceil((preamble + dict.length + 1) / 64) * 64 - preamble - 1, ' ') + '\n';
  const body = itemBytes(input, dtype);
  const out = new Uint8Array(preamble + dict.length + body.byteLength);
  out.set(MAGIC);
  out[6] = major;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, dict.length, true);
  else view.setUint32(8, dict.length, true);
  for (let i = 0; i < dict.length; i++) out[preamble + i] = dict.charCodeAt(i);
  out.set(body, preamble + dict.length);
  return out;
}

/** numpy itself refuses headers over 10 000 bytes unless told otherwise; leave room for huge shapes. */
const MAX_HEADER_BYTES = 1 << 20;

/**
 * The three entries of an .npy header dict as source text, or null when it is not exactly a Python dict literal
 * with the keys descr, fortran_order and shape (each once), as numpy's own reader demands.
 */
function parseHeaderDict(header: string): Record<'descr' | 'fortran_order' | 'shape', string> | null {
  const text = header.trim();
  if (!text.startsWith('{') || !text.endsWith('}')) return null;
  const entry = /\s*'(\w+)'\s*:\s*('[^']*'|True|False|\([^()]*\))\s*(,|$)/y;
  const body = text.slice(1, -1);
  const found: Record<string, string> = {};
  entry.lastIndex = 0;
  while (entry.lastIndex < body.length && body.slice(entry.lastIndex).trim() !== '') {
    const m = entry.exec(body);
    if (!m || m[1] in found) return null;
    found[m[1]] = m[2];
  }
  const keys = Object.keys(found).sort();
  if (keys.join() !== 'descr,fortran_order,shape') return null;
  if (!/^(True|False)$/.test(found.fortran_order)) return null;
  return found as Record<'descr' | 'fortran_order' | 'shape', string>;
}

/** "(3, 4)", "(5,)" or "()" as numbers; null for anything else ("(5)" is not a tuple, "-1" not a size). */
function parseShape(tuple: string): number[] | null {
  const inner = tuple.slice(1, -1).trim();
  if (inner === '') return [];
  const parts = inner.split(',').map((p) => p.trim());
  // "(5)" has no comma (an int, not a tuple); a trailing comma leaves one empty part.
  if (parts.length === 1) return null;
  if (parts[parts.length - 1] === '') parts.pop();
  if (!parts.every((p) => /^\d{1,16}$/.test(p))) return null;
  const dims = parts.map(Number);
  return dims.every(Number.isSafeInteger) ? dims : null;
}

/** Parses .npy bytes; `source` names the file (or archive entry) in error messages. */
export function decodeNpy(bytes: Uint8Array, source: string): NpyArray {
  const fail = (why: string): never => {
    throw new UserError(`${source}: ${printable(why)}`);
  };
  if (bytes.byteLength < 10 || MAGIC.some((m, i) => bytes[i] !== m)) fail('not a .npy file (no \\x93NUMPY magic)');
  const major = bytes[6];
  if (major < 1 || major > 3) fail(`unsupported .npy format version ${major}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const preamble = major === 1 ? 10 : 12;
  if (bytes.byteLength < preamble) fail('truncated or corrupt: incomplete .npy preamble');
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  if (bytes.byteLength < preamble + headerLen) fail('truncated or corrupt: incomplete .npy header');
  if (headerLen > MAX_HEADER_BYTES) fail(`a ${headerLen}-byte .npy header is beyond any real file`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(preamble, preamble + headerLen));
  const fields = parseHeaderDict(header);
  if (!fields) return fail(`unsupported or corrupt .npy header ${JSON.stringify(header.trim().slice(0, 200))}`);
  const descr = /^'([<>|=])([a-z]\d+)'$/.exec(fields.descr);
  if (!descr) return fail(`unsupported dtype ${fields.descr}`);
  if (fields.fortran_order === 'True') fail('Fortran-ordered arrays are not supported');
  const dtype = (Object.keys(DTYPES) as NpyDtype[]).find((d) => DTYPES[d].kind === descr[2]);
  if (!dtype) return fail(`unsupported dtype '${descr[1]}${descr[2]}'`);
  const shape = parseShape(fields.shape);
  if (!shape) return fail(`corrupt shape ${fields.shape}: a tuple of non-negative integers is expected`);
  const { bytes: width, memory } = DTYPES[dtype];
  const start = preamble + headerLen;
  // The size in BigInt, so a shape whose product overflows a double is caught rather than rounded; checked
  // against the bytes present before anything is allocated from it.
  const total = shape.reduce((a, d) => a * BigInt(d), 1n) * BigInt(width);
  if (total > BigInt(bytes.byteLength - start)) {
    fail(`truncated or corrupt: shape (${shape.join(', ')}) of ${dtype} needs ${total} bytes of data, found ${bytes.byteLength - start}`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  // Copy into a fresh, aligned buffer (zip entries may start at any offset; a Buffer's slice would be a view),
  // swapping big-endian items.
  const raw = new Uint8Array(count * width);
  raw.set(bytes.subarray(start, start + count * width));
  if (descr[1] === '>' && width > 1) {
    for (let i = 0; i < raw.length; i += width) raw.subarray(i, i + width).reverse();
  }
  let data: NpyData;
  if (dtype === 'float16') {
    const halves = new Uint16Array(raw.buffer);
    data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = fromHalfBits(halves[i]);
  } else {
    data = new memory(raw.buffer);
  }
  return { data, shape, dtype };
}

async function readBytes(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new UserError(`${path}: file not found`);
    throw err;
  }
}

export async function writeNpy(path: string, input: NpyInput): Promise<void> {
  await writeFileAtomic(path, encodeNpy(input));
}

export async function readNpy(path: string): Promise<NpyArray> {
  return decodeNpy(await readBytes(path), path);
}

/** Writes arrays as `<key>.npy` entries, deflated like np.savez_compressed unless `compress` is false (np.savez). */
export async function writeNpz(
  path: string,
  arrays: Record<string, NpyInput>,
  options: { compress?: boolean } = {},
): Promise<void> {
  const level = options.compress === false ? 0 : 6;
  const entries: Zippable = {};
  for (const [key, input] of Object.entries(arrays)) entries[`${key}.npy`] = [encodeNpy(input), { level }];
  await writeFileAtomic(path, zipSync(entries));
}

/**
 * Deflate inflates at most 1032:1; a member declaring more than its compressed bytes can hold is refused before
 * anything is inflated (the slack covers tiny members).
 */
const maxInflatedBytes = (compressed: number): number => compressed * 1032 + 1024;

/**
 * The bytes of one archive member, checked against its declared size and CRC. Inflating stops at the declared
 * size, so a zip bomb costs no more than its directory admits to.
 */
function memberBytes(member: ZipMember, fail: (why: string) => Error): Uint8Array {
  const { name, method, size, data } = member;
  if (size > kMaxLength) throw fail(`entry ${name} declares ${size} bytes, more than one array can hold`);
  let bytes: Uint8Array;
  if (method === 0) {
    if (data.byteLength !== size) throw fail(`entry ${name} declares ${size} bytes but stores ${data.byteLength}`);
    bytes = data;
  } else if (method === 8) {
    if (size > maxInflatedBytes(data.byteLength)) {
      throw fail(`entry ${name} declares ${size} bytes, more than its ${data.byteLength} compressed bytes can inflate to`);
    }
    try {
      bytes = inflateRawSync(data, { maxOutputLength: Math.max(size, 1) });
    } catch (err) {
      const tooLong = (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
      throw fail(`entry ${name} ${tooLong ? `inflates to more than its declared ${size} bytes` : `does not inflate (${(err as Error).message})`}`);
    }
    if (bytes.byteLength !== size) throw fail(`entry ${name} inflates to ${bytes.byteLength} bytes, not its declared ${size}`);
  } else {
    throw fail(`entry ${name} uses compression method ${method}; numpy writes stored or deflated entries only`);
  }
  if (crc32(bytes) !== member.crc) throw fail(`entry ${name} fails its CRC check`);
  return bytes;
}

/**
 * Reads every `.npy` entry of an .npz archive, keyed by name without `.npy` (as np.load's NpzFile). Damage,
 * wrong CRCs, unsafe member names and sizes the archive cannot hold are UserErrors naming the file.
 */
export async function readNpz(path: string): Promise<Record<string, NpyArray>> {
  const fail = (why: string) => new UserError(`${path}: truncated or corrupt zip archive: ${why}`);
  const out: Record<string, NpyArray> = {};
  for (const member of readZipDirectory(await readBytes(path), fail)) {
    if (member.name.endsWith('.npy')) out[member.name.slice(0, -4)] = decodeNpy(memberBytes(member, fail), `${path}:${member.name}`);
  }
  return out;
}

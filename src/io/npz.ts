/**
 * numpy .npy (format 1.0, little endian, C order) and .npz (zip of .npy) files, readable by np.load.
 * float16 has no JS typed array, so it is held as Float32Array in memory and converted on the way in and out.
 */
import { readFile } from 'node:fs/promises';
import { unzipSync, zipSync, type Zippable } from 'fflate';
import { UserError } from '../errors.js';
import { writeFileAtomic } from './atomic-write.js';

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

type NpyConstructor = new (length: number) => NpyData;

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

/** Parses .npy bytes; `source` names the file (or archive entry) in error messages. */
export function decodeNpy(bytes: Uint8Array, source: string): NpyArray {
  const fail = (why: string): never => {
    throw new UserError(`${source}: ${why}`);
  };
  if (bytes.byteLength < 10 || MAGIC.some((m, i) => bytes[i] !== m)) fail('not a .npy file (no \\x93NUMPY magic)');
  const major = bytes[6];
  if (major < 1 || major > 3) fail(`unsupported .npy format version ${major}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const preamble = major === 1 ? 10 : 12;
  if (bytes.byteLength < preamble) fail('truncated or corrupt: incomplete .npy preamble');
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  if (bytes.byteLength < preamble + headerLen) fail('truncated or corrupt: incomplete .npy header');
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(preamble, preamble + headerLen));
  const descr = /'descr':\s*'([<>|=])([a-z]\d+)'/.exec(header);
  const fortran = /'fortran_order':\s*(True|False)/.exec(header);
  const shapeMatch = /'shape':\s*\(([\d,\s]*)\)/.exec(header);
  if (!descr || !fortran || !shapeMatch) return fail(`unsupported or corrupt .npy header ${header.trim()}`);
  if (fortran[1] === 'True') fail('Fortran-ordered arrays are not supported');
  const dtype = (Object.keys(DTYPES) as NpyDtype[]).find((d) => DTYPES[d].kind === descr[2]);
  if (!dtype) return fail(`unsupported dtype '${descr[1]}${descr[2]}'`);
  const shape = shapeMatch[1]
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const { bytes: width, memory } = DTYPES[dtype];
  const start = preamble + headerLen;
  if (bytes.byteLength < start + count * width) {
    fail(`truncated or corrupt: expected ${count * width} bytes of data, found ${bytes.byteLength - start}`);
  }
  // Copy into an aligned buffer (zip entries may start at any offset), swapping big-endian items.
  const raw = bytes.slice(start, start + count * width);
  if (descr[1] === '>' && width > 1) {
    for (let i = 0; i < raw.length; i += width) raw.subarray(i, i + width).reverse();
  }
  let data: NpyData;
  if (dtype === 'float16') {
    const halves = new Uint16Array(raw.buffer);
    data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = fromHalfBits(halves[i]);
  } else {
    data = new memory(count);
    new Uint8Array(data.buffer).set(raw);
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

/** Reads every `.npy` entry of an .npz archive, keyed by name without `.npy` (as np.load's NpzFile). */
export async function readNpz(path: string): Promise<Record<string, NpyArray>> {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(await readBytes(path));
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`${path}: truncated or corrupt zip archive (${(err as Error).message})`);
  }
  const out: Record<string, NpyArray> = {};
  for (const [name, bytes] of Object.entries(entries)) {
    if (name.endsWith('.npy')) out[name.slice(0, -4)] = decodeNpy(bytes, `${path}:${name}`);
  }
  return out;
}

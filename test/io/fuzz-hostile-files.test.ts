/**
 * Seeded fuzzing of the readers of files a user hands us: NIfTI (.nii, .nii.gz), .npy/.npz and .pth. Every
 * corruption either reads as a sane volume/array/value tree or is refused with a one-line UserError naming the
 * file: never another exception type, never a hang, never an allocation sized by a lying header. In-process, so
 * the engine starts once.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { crc32, gunzipSync, gzipSync } from 'node:zlib';
import { UserError } from '../../src/errors.js';
import { NIFTI_LAYOUT } from '../../src/io/nifti-header.js';
import { createHeader, readNifti, writeNifti, type VoxelArray } from '../../src/io/nifti.js';
import { encodeNpy, readNpy, readNpz, writeNpz } from '../../src/io/npz.js';
import { loadPth, savePth, type PthValue } from '../../src/torch/serialization/pth-file.js';
import { pyOrderedDict } from '../../src/torch/serialization/py-values.js';
import { readZipDirectory, writeStoredZip } from '../../src/torch/serialization/stored-zip.js';
import { Tensor } from '../../src/torch/tensor.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const hippocampus = path.resolve(repoRoot, '../shared/data/Dataset004_Hippocampus/imagesTr');

const tmp = await mkdtemp(path.join(tmpdir(), 'fuzz-hostile-'));
after(() => rm(tmp, { recursive: true, force: true }));

// A full collection before and during the measured reads, so the figure is live memory, not garbage awaiting GC.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** mulberry32: small, seeded, good enough to pick bytes and fields. */
function prng(seed: number): { next: () => number; int: (n: number) => number; pick: <T>(xs: readonly T[]) => T } {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return { next, int, pick: (xs) => xs[int(xs.length)] };
}

/** Outcomes of one fuzzed reader: how many read fine, and refusals grouped by reason. */
class Tally {
  ok = 0;
  readonly refused = new Map<string, number>();
  constructor(
    readonly name: string,
    private readonly reasonOf: (message: string) => string,
  ) {}

  get total(): number {
    return this.ok + [...this.refused.values()].reduce((a, b) => a + b, 0);
  }

  /** Runs `read` (which validates what it read); a throw must be a one-line UserError naming `file`. */
  async run(file: string, what: string, read: () => Promise<void>): Promise<void> {
    try {
      await read();
      this.ok++;
    } catch (err) {
      if (!(err instanceof UserError)) assert.fail(`${what} (${file}): ${err instanceof Error ? err.stack : String(err)}`);
      assert.ok(err.message.startsWith(`${file}`), `${what}: the message names the file: ${err.message}`);
      assert.ok(!err.message.includes('\n'), `${what}: one line: ${err.message}`);
      const reason = this.reasonOf(err.message.slice(file.length));
      this.refused.set(reason, (this.refused.get(reason) ?? 0) + 1);
    }
  }

  report(): string {
    const reasons = [...this.refused].sort((a, b) => b[1] - a[1]).map(([r, n]) => `  ${n} × ${r}`);
    return [`${this.name}: ${this.total} corruptions, ${this.ok} read fine, ${this.total - this.ok} refused:`, ...reasons].join('\n');
  }
}

/** A refusal's reason with numbers and quoted text blanked, so alike refusals group. */
const genericReason = (message: string): string =>
  message
    .replace(/^:[^:]*\.npy: /, ': ')
    .replace(/"[^"]*"|'[^']*'/g, '…')
    .replace(/\b0x[0-9a-f]+\b|-?\b\d+(\.\d+)?(e[+-]?\d+)?\b/gi, 'N')
    .replace(/\[[^\]]*\]|\([^)]*\)/g, '(…)')
    .slice(2, 110);

const NIFTI_REASONS: [RegExp, string][] = [
  [/shorter than a NIfTI/, 'header cut short'],
  [/no n\+1\/n\+2 magic|\.hdr\/\.img/, 'no NIfTI magic'],
  [/sizeof_hdr/, 'sizeof_hdr'],
  [/beyond any real file/, 'int64 field beyond 2^53'],
  [/dim\[0\]/, 'dim[0] not 1..7'],
  [/every axis needs/, 'dim < 1'],
  [/overflows/, 'dims overflow'],
  [/unsupported datatype/, 'unsupported datatype'],
  [/bitpix/, 'bitpix inconsistent'],
  [/vox_offset/, 'vox_offset'],
  [/scl_/, 'scl_slope/scl_inter infinite'],
  [/pixdim/, 'pixdim not finite/zero'],
  [/qform/, 'qform not finite/not a rotation'],
  [/sform/, 'sform not finite'],
  [/affine/, 'affine not finite'],
  [/inflate to at most/, 'declared data more than the gzip can hold'],
  [/one array can hold/, 'declared data over the array limit'],
  [/larger than the file/, 'declared data larger than the file'],
  [/holds only/, 'stream shorter than declared'],
  [/gzip data/, 'corrupt gzip'],
];
const niftiReason = (message: string): string => NIFTI_REASONS.find(([re]) => re.test(message))?.[1] ?? `other: ${message}`;

/** Peak live ArrayBuffer memory (and the rss change) while `fn` runs, sampled every millisecond after a full GC. */
async function measured(fn: () => Promise<void>): Promise<{ peak: number; rss: number }> {
  gc();
  const base = process.memoryUsage();
  let peak = base.arrayBuffers;
  const timer = setInterval(() => {
    gc();
    peak = Math.max(peak, process.memoryUsage().arrayBuffers);
  }, 1);
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  peak = Math.max(peak, process.memoryUsage().arrayBuffers);
  return { peak: peak - base.arrayBuffers, rss: process.memoryUsage().rss - base.rss };
}

// ---------------------------------------------------------------------------------------------------------------
// NIfTI

interface Field {
  name: string;
  at: number;
  type: 'u8' | 'i16' | 'i32' | 'i64' | 'f32' | 'f64';
  count: number;
}

/** The header fields a hostile file plays with, per NIfTI version, where the reader's own layout puts them. */
const FUZZED = ['sizeof_hdr', 'dim', 'datatype', 'bitpix', 'pixdim', 'vox_offset', 'scl_slope', 'scl_inter', 'qform_code', 'sform_code', 'quatern', 'qoffset', 'srow'];
const fieldsOf = (version: 1 | 2): Field[] =>
  FUZZED.map((name) => {
    const [at, type, count] = NIFTI_LAYOUT[version][name as keyof (typeof NIFTI_LAYOUT)[1]];
    assert.notEqual(type, 'str');
    return { name, at, type: type as Field['type'], count: count ?? 1 };
  });
const FIELDS: Record<1 | 2, Field[]> = { 1: fieldsOf(1), 2: fieldsOf(2) };
const INT_VALUES = [0, -1, 1, 2, 7, 8, 16, 348, 352, 540, 32767, -32768, 2 ** 31 - 1, -(2 ** 31), 2 ** 40, 2 ** 62];
const FLOAT_VALUES = [0, -1, 1, 0.5, 352.5, 32767, 2 ** 31 - 1, 1e30, 3.4e38, -3.4e38, 1e-30, NaN, Infinity, -Infinity];

function setField(bytes: Uint8Array, le: boolean, field: Field, index: number, value: number): void {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = { u8: 1, i16: 2, i32: 4, i64: 8, f32: 4, f64: 8 }[field.type];
  const at = field.at + index * width;
  if (field.type === 'u8') v.setUint8(at, value);
  else if (field.type === 'i16') v.setInt16(at, value, le);
  else if (field.type === 'i32') v.setInt32(at, value, le);
  else if (field.type === 'i64') v.setBigInt64(at, BigInt(Math.trunc(value)), le);
  else if (field.type === 'f32') v.setFloat32(at, value, le);
  else v.setFloat64(at, value, le);
}

interface NiftiBase {
  name: string;
  /** The uncompressed file. */
  raw: Uint8Array;
  version: 1 | 2;
  le: boolean;
}

async function niftiBases(): Promise<{ bases: NiftiBase[]; skipped?: string }> {
  const bases: NiftiBase[] = [];
  const generated: [string, 1 | 2, 'float32' | 'int16' | 'uint8', number[]][] = [
    ['generated_v1_float32', 1, 'float32', [4, 5, 6]],
    ['generated_v2_int16', 2, 'int16', [3, 7, 5]],
  ];
  for (const [name, version, dtype, shape] of generated) {
    const file = path.join(tmp, `${name}.nii`);
    const count = shape.reduce((a, b) => a * b, 1);
    const data: VoxelArray = dtype === 'float32' ? Float32Array.from({ length: count }, (_, i) => i / 7) : Int16Array.from({ length: count }, (_, i) => i - 50);
    const affine = [
      [0, 0.8, 0, -12],
      [1.2, 0, 0, 30],
      [0, 0, -2.5, 4],
      [0, 0, 0, 1],
    ];
    await writeNifti(file, data, shape, createHeader({ shape, affine, dtype, version }));
    bases.push({ name, raw: await readFile(file), version, le: true });
  }
  if (!existsSync(hippocampus)) return { bases, skipped: `${hippocampus} absent: fuzzing generated headers only` };
  for (const name of ['hippocampus_001_0000.nii.gz', 'hippocampus_003_0000.nii.gz']) {
    const raw = gunzipSync(await readFile(path.join(hippocampus, name)));
    const version = raw[344] === 0x6e ? 1 : 2;
    const le = new DataView(raw.buffer, raw.byteOffset).getInt32(0, true) === (version === 1 ? 348 : 540);
    bases.push({ name: name.replace('.nii.gz', ''), raw, version, le });
  }
  return { bases };
}

/** Reads `file` and checks what came back is a sane volume. */
async function readSaneNifti(file: string): Promise<void> {
  const vol = await readNifti(file);
  assert.deepEqual(vol.shape, [...vol.header.dims].reverse());
  assert.equal(vol.data.length, vol.shape.reduce((a, b) => a * b, 1));
  assert.ok(vol.spacing.every((s) => Number.isFinite(s) && s !== 0), `spacing ${vol.spacing}`);
  assert.ok(vol.affine.flat().every(Number.isFinite), `affine ${JSON.stringify(vol.affine)}`);
}

/** `raw` with the header's dims replaced (dim[0] = dims.length) and datatype/bitpix set. */
function claiming(base: NiftiBase, dims: number[], datatype: number, bitpix: number): Uint8Array {
  const bytes = new Uint8Array(base.raw);
  const fields = FIELDS[base.version];
  const field = (name: string) => fields.find((x) => x.name === name)!;
  [dims.length, ...dims, ...Array(7 - dims.length).fill(1)].forEach((d, i) => setField(bytes, base.le, field('dim'), i, d));
  setField(bytes, base.le, field('datatype'), 0, datatype);
  setField(bytes, base.le, field('bitpix'), 0, bitpix);
  return bytes;
}

test('NIfTI: seeded header corruptions of real and generated files read sanely or are refused by name', async (t) => {
  const { bases, skipped } = await niftiBases();
  if (skipped) t.diagnostic(skipped);
  const rand = prng(20240515);
  const tally = new Tally('NIfTI', niftiReason);
  let n = 0;
  const attempt = async (base: NiftiBase, what: string, bytes: Uint8Array, gz: boolean) => {
    const file = path.join(tmp, `case_${String(n++).padStart(3, '0')}_${base.name}.nii${gz ? '.gz' : ''}`);
    await writeFile(file, gz ? gzipSync(bytes, { level: 1 }) : bytes);
    await tally.run(file, `${base.name}: ${what}`, () => readSaneNifti(file));
    await rm(file);
  };
  const casesPerBase = Math.ceil(240 / bases.length);
  for (const base of bases) {
    const headerSize = base.version === 1 ? 352 : 544;
    for (let i = 0; i < casesPerBase; i++) {
      const bytes = new Uint8Array(base.raw);
      const kind = rand.int(10);
      let what: string;
      let out = bytes;
      if (kind < 3) {
        // Random bytes anywhere in the header (and the extension flag).
        const flips = 1 + rand.int(4);
        const at: number[] = [];
        for (let k = 0; k < flips; k++) {
          at.push(rand.int(headerSize));
          bytes[at[k]] = rand.int(256);
        }
        what = `random bytes at ${at.join(', ')}`;
      } else if (kind < 8) {
        // Boundary values in one or two fields.
        const parts: string[] = [];
        for (let k = 0; k <= rand.int(2); k++) {
          const field = rand.pick(FIELDS[base.version]);
          const index = rand.int(field.count);
          const value = rand.pick(field.type.startsWith('f') ? FLOAT_VALUES : INT_VALUES);
          setField(bytes, base.le, field, index, value);
          parts.push(`${field.name}[${index}] = ${value}`);
        }
        what = parts.join(', ');
      } else {
        const cut = rand.next() < 0.5 ? rand.int(headerSize + 8) : rand.int(bytes.length);
        out = bytes.subarray(0, cut);
        what = `cut to ${cut} bytes`;
      }
      await attempt(base, what, out, rand.next() < 0.5);
    }
    // A gzip stream cut short (not a gzip of a cut file).
    for (let i = 0; i < 4; i++) {
      const gz = gzipSync(base.raw, { level: 1 });
      const cut = rand.int(gz.length);
      const file = path.join(tmp, `case_${String(n++).padStart(3, '0')}_${base.name}_cutgz.nii.gz`);
      await writeFile(file, gz.subarray(0, cut));
      await tally.run(file, `${base.name}: gzip cut to ${cut} bytes`, () => readSaneNifti(file));
    }
    // Headers claiming absurd sizes: 8 GiB of float32, 2^40 int16 voxels (NIfTI-2) and a product that overflows.
    const claims: [string, number[], number, number][] = [
      ['8 GiB float32', [1024, 1024, 2048], 16, 32],
      ['2^60 int16', [32767, 32767, 32767, 32767], 4, 16],
      ['7 axes of 32767', Array(7).fill(32767), 2, 8],
    ];
    if (base.version === 2) claims.push(['2^40 int16', [1024, 1024, 1048576], 4, 16], ['2^62 uint8', [2 ** 31, 2 ** 31], 2, 8]);
    for (const [what, dims, datatype, bitpix] of claims) {
      for (const gz of [false, true]) await attempt(base, `claims ${what}`, claiming(base, dims, datatype, bitpix), gz);
    }
  }
  for (const line of tally.report().split('\n')) t.diagnostic(line);
  assert.ok(tally.total >= 200, `${tally.total} NIfTI corruptions`);
  assert.ok(tally.ok > 0 && tally.refused.size > 5, 'both outcomes occur, for several reasons');
  assert.ok(![...tally.refused.keys()].some((r) => r.startsWith('other')), 'every refusal has a known reason');
});

test('NIfTI: headers claiming 8 GB, a gzip cut short of 3 GiB and a gzip bomb never allocate beyond the declared size', async (t) => {
  const { bases } = await niftiBases();
  const base = bases[0];
  const figures: string[] = [];
  const expectRefusal = async (name: string, bytes: Uint8Array, pattern: RegExp, declared: number) => {
    const file = path.join(tmp, name);
    await writeFile(file, bytes);
    let error: unknown;
    const m = await measured(() => readNifti(file).then(() => undefined, (err: unknown) => void (error = err)));
    assert.ok(error instanceof UserError, `${name}: ${String(error)}`);
    assert.match(error.message, pattern);
    assert.ok(m.peak < 2 * declared, `${name}: ${m.peak} bytes live at the peak, declared ${declared}`);
    figures.push(`${name}: declared ${declared} bytes, peak live ArrayBuffers +${(m.peak / 2 ** 20).toFixed(2)} MiB, rss +${(m.rss / 2 ** 20).toFixed(1)} MiB`);
    return m.peak;
  };
  const eightGiB = claiming(base, [1024, 1024, 2048], 16, 32);
  const declared8 = 352 + 2 ** 33;
  // Refused from the header and the file size alone: nothing close to the claim is allocated.
  assert.ok((await expectRefusal('claims_8gb.nii', eightGiB, /header declares 2\^31 voxels \(dims 1024×1024×2048, float32\).*larger than the file/, declared8)) < 2 ** 20);
  assert.ok((await expectRefusal('claims_8gb.nii.gz', gzipSync(eightGiB), /larger than the file .*gzip data inflate to at most/, declared8)) < 2 ** 20);

  // 3 GiB declared, and enough (incompressible) gzip data that the ratio bound cannot refuse it up front: the
  // stream ends after ~3.3 MB, and memory follows what arrived, not what was declared.
  const threeGiB = claiming(base, [1024, 1024, 768], 16, 32);
  const payload = new Uint8Array(3_300_000);
  const rand = prng(7);
  for (let i = 0; i < payload.length; i++) payload[i] = rand.int(256);
  const shortGz = gzipSync(Buffer.concat([threeGiB.subarray(0, 352), payload]), { level: 1 });
  const shortPeak = await expectRefusal('claims_3gib_short.nii.gz', shortGz, /gzip data holds only \d+ bytes of voxels/, 352 + 3 * 2 ** 30);
  assert.ok(shortPeak < 32 * 2 ** 20, `short stream: ${shortPeak} bytes live`);

  // A gzip bomb: a correct small file followed by 256 gzip members of 1 MiB of zeros each (256 MiB if inflated).
  const member = gzipSync(new Uint8Array(2 ** 20));
  const bomb = Buffer.concat([gzipSync(base.raw), ...Array<Uint8Array>(256).fill(member)]);
  const file = path.join(tmp, 'bomb.nii.gz');
  await writeFile(file, bomb);
  let vol: Awaited<ReturnType<typeof readNifti>> | undefined;
  const m = await measured(async () => {
    vol = await readNifti(file);
  });
  assert.deepEqual(vol?.shape, [4, 5, 6]);
  assert.deepEqual([...(vol?.data ?? []).subarray(0, 3)], [0, 1 / 7, 2 / 7].map(Math.fround));
  // The stream and zlib buffers (64 KiB reads, 16 KiB chunks) are the only slack over twice the declared bytes.
  assert.ok(m.peak < 2 * base.raw.length + 2 ** 20, `bomb: ${m.peak} bytes live at the peak`);
  figures.push(`bomb.nii.gz: declared ${base.raw.length} bytes (inflates to 256 MiB), peak live ArrayBuffers +${(m.peak / 2 ** 20).toFixed(2)} MiB, rss +${(m.rss / 2 ** 20).toFixed(1)} MiB`);
  for (const line of figures) t.diagnostic(line);
});

// ---------------------------------------------------------------------------------------------------------------
// .npy / .npz

/** A copy of `bytes` with every occurrence of `from` replaced by `to` (same length). */
function replaceAll(bytes: Uint8Array, from: string, to: string): Uint8Array {
  assert.equal(from.length, to.length);
  const out = Buffer.from(bytes);
  for (let at = out.indexOf(from); at >= 0; at = out.indexOf(from, at + 1)) out.write(to, at, 'latin1');
  return out;
}

/** A copy of `npy` with its header dict replaced by `dict` (padded; the header length field follows). */
function withHeader(npy: Uint8Array, dict: string): Uint8Array {
  const headerLen = new DataView(npy.buffer, npy.byteOffset).getUint16(8, true);
  const body = npy.subarray(10 + headerLen);
  const text = `${dict}`.padEnd(Math.ceil((dict.length + 11) / 64) * 64 - 11, ' ') + '\n';
  const out = new Uint8Array(10 + text.length + body.length);
  out.set(npy.subarray(0, 8));
  new DataView(out.buffer).setUint16(8, text.length, true);
  out.set(Buffer.from(text, 'latin1'), 10);
  out.set(body, 10 + text.length);
  return out;
}

const NPY_DICTS = [
  "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }",
  "{'descr': '<f4', 'fortran_order': False, 'shape': (3, -4, 5), }",
  "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }",
  "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }",
  "{'descr': '<f4', 'fortran_order': False, 'shape': (1048576, 1048576, 1048576), }",
  "{'descr': '<f4', 'fortran_order': False, 'shape': (5), }",
  "{'descr': '<f4', 'fortran_order': False, 'shape': (,), }",
  "{'descr': '<f4', 'fortran_order': False, 'shape': (3 4 5), }",
  "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4, 5.0), }",
  "{'descr': '<f4', 'fortran_order': False, 'shape': (0,), }",
  "{'descr': '<f4', 'fortran_order': False, 'shape': (), }",
  "{'descr': '<f4', 'fortran_order': False, 'shape': (60,), }",
  "{'descr': '<f4', 'fortran_order': False, 'shape': (61,), }",
  "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4, 5), }",
  "{'descr': '<f16', 'fortran_order': False, 'shape': (3, 4, 5), }",
  "{'descr': '<c8', 'fortran_order': False, 'shape': (3, 4, 5), }",
  "{'descr': '>f4', 'fortran_order': False, 'shape': (3, 4, 5), }",
  "{'descr': '|O', 'fortran_order': False, 'shape': (3, 4, 5), }",
  "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3, 4, 5), }",
  "{'descr': '<f4', 'fortran_order': True, 'shape': (3, 4, 5), }",
  "{'descr': '<f4', 'fortran_order': 1, 'shape': (3, 4, 5), }",
  "{'descr': '<f4', 'shape': (3, 4, 5), }",
  "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4, 5), 'shape': (60,), }",
  "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4, 5), 'extra': False, }",
  "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4, 5)",
  "'descr': '<f4', 'fortran_order': False, 'shape': (3, 4, 5), }",
  "{}",
  '',
];

async function readSaneNpz(file: string): Promise<void> {
  const arrays = file.endsWith('.npz') ? Object.values(await readNpz(file)) : [await readNpy(file)];
  for (const a of arrays) assert.equal(a.data.length, a.shape.reduce((x, y) => x * y, 1));
}

test('.npy/.npz: seeded header, size, name and CRC corruptions read sanely or are refused by name', async (t) => {
  const rand = prng(99);
  const tally = new Tally('.npy/.npz', genericReason);
  let n = 0;
  const attempt = async (ext: '.npy' | '.npz', what: string, bytes: Uint8Array) => {
    const file = path.join(tmp, `case_${String(n++).padStart(3, '0')}${ext}`);
    await writeFile(file, bytes);
    await tally.run(file, what, () => readSaneNpz(file));
    await rm(file);
  };
  const npy = encodeNpy({ data: Float32Array.from({ length: 60 }, (_, i) => i), shape: [3, 4, 5] });
  for (const dict of NPY_DICTS) await attempt('.npy', `header ${dict}`, withHeader(npy, dict));
  const version = (major: number, len: number) => {
    const out = new Uint8Array(npy);
    out[6] = major;
    new DataView(out.buffer).setUint16(8, len, true);
    return out;
  };
  for (const [major, len] of [[0, 118], [4, 118], [2, 118], [3, 118], [1, 0xffff], [1, 0], [2, 0xffff]]) await attempt('.npy', `version ${major}, header length ${len}`, version(major, len));
  for (let i = 0; i < 20; i++) {
    const bytes = new Uint8Array(npy);
    const at = rand.int(128);
    bytes[at] = rand.int(256);
    await attempt('.npy', `byte ${at} = ${bytes[at]}`, bytes);
  }
  for (let i = 0; i < 8; i++) {
    const cut = rand.int(npy.length);
    await attempt('.npy', `cut to ${cut}`, npy.subarray(0, cut));
  }

  // Archives: member "abcd.npy" has the length of "../x.npy", so a name can be swapped in place.
  const arrays = { abcd: { data: Float32Array.from({ length: 100 }, (_, i) => i), shape: [10, 10] }, efgh: { data: new Int16Array(7), shape: [7] } };
  for (const compress of [true, false]) {
    const file = path.join(tmp, `base_${compress}.npz`);
    await writeNpz(file, arrays, { compress });
    const zip = await readFile(file);
    const members = readZipDirectory(zip, (why) => new Error(why));
    const first = members[0];
    const firstAt = first.data.byteOffset - zip.byteOffset;
    const cd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]), zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06])));
    const central = zip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    const patched = (what: string, at: number, value: number, width: 2 | 4) => {
      const out = Buffer.from(zip);
      if (width === 2) out.writeUInt16LE(value, at);
      else out.writeUInt32LE(value >>> 0, at);
      return attempt('.npz', `${compress ? 'deflated' : 'stored'}: ${what}`, out);
    };
    const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    await attempt('.npz', 'member ../x.npy', replaceAll(zip, 'abcd.npy', '../x.npy'));
    await attempt('.npz', 'member /abs.npy', replaceAll(zip, 'abcd.npy', '/abc.npy'));
    await attempt('.npz', 'member named twice', replaceAll(zip, 'efgh.npy', 'abcd.npy'));
    const wrongCrc = Buffer.from(zip);
    wrongCrc[firstAt + (first.data.length >> 1)] ^= 0x40;
    await attempt('.npz', 'a data byte changed (wrong CRC or bad deflate)', wrongCrc);
    await patched('CRC field', central + 16, first.crc ^ 1, 4);
    await patched('declared size 4 GiB - 16', central + 24, 0xfffffff0, 4);
    await patched('declared size 2^31', central + 24, 2 ** 31, 4);
    await patched('declared size one more', central + 24, first.size + 1, 4);
    await patched('declared size one less', central + 24, first.size - 1, 4);
    await patched('compressed size 4 GiB - 16', central + 20, 0xfffffff0, 4);
    await patched('local header offset beyond the file', central + 42, zip.length + 10, 4);
    await patched('entry count 65534', eocd + 10, 0xfffe, 2);
    await patched('entry count zip64 marker', eocd + 10, 0xffff, 2);
    await patched('directory offset beyond the file', eocd + 16, zip.length, 4);
    await patched('name length 65535', cd + 28, 0xffff, 2);
    await patched('extra length 65535', cd + 30, 0xffff, 2);
    await patched('method 12 (bzip2)', central + 10, 12, 2);
    await patched('encrypted flag', central + 8, 1, 2);
    for (let i = 0; i < 12; i++) {
      const cut = rand.int(zip.length);
      await attempt('.npz', `cut to ${cut}`, zip.subarray(0, cut));
    }
    for (let i = 0; i < 12; i++) {
      const bytes = Buffer.from(zip);
      const at = rand.int(zip.length);
      bytes[at] = rand.int(256);
      await attempt('.npz', `byte ${at} = ${bytes[at]}`, bytes);
    }
  }
  // A deflate bomb: one member declaring 1 KiB that inflates to 64 MiB, with a matching CRC.
  const bombFile = path.join(tmp, 'bomb_base.npz');
  await writeNpz(bombFile, { z: { data: new Uint8Array(64 * 2 ** 20), shape: [64 * 2 ** 20] } });
  const bomb = await readFile(bombFile);
  const central = bomb.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  bomb.writeUInt32LE(1024, central + 24);
  const m = await measured(() => attempt('.npz', 'deflate bomb declaring 1 KiB', bomb));
  assert.ok(m.peak < 2 ** 20, `the bomb inflated no further than declared: ${m.peak} bytes live`);

  for (const line of tally.report().split('\n')) t.diagnostic(line);
  assert.ok(tally.total >= 100, `${tally.total} .npy/.npz corruptions`);
});

// ---------------------------------------------------------------------------------------------------------------
// .pth

function disposeAll(value: unknown, seen = new Set<unknown>()): void {
  if (typeof value !== 'object' || value === null || seen.has(value)) return;
  seen.add(value);
  if (value instanceof Tensor) return value.dispose();
  const children = value instanceof Map ? [...value.values()] : Array.isArray(value) ? value : Object.values(value);
  for (const c of children) disposeAll(c, seen);
}

/** A stored zip with `pickle` as data.pkl: a checkpoint whose pickle is made by hand. */
const pickled = (pickle: Uint8Array): Uint8Array =>
  Buffer.concat(
    writeStoredZip([
      { name: 'archive/data.pkl', data: pickle },
      { name: 'archive/version', data: Buffer.from('3\n') },
    ]),
  );

test('.pth: seeded zip and pickle corruptions load sanely or are refused by name', async (t) => {
  const rand = prng(4242);
  const tally = new Tally('.pth', genericReason);
  const baseFile = path.join(tmp, 'base.pth');
  const w = Tensor.fromBuffer(Float32Array.from({ length: 12 }, (_, i) => i), [3, 4], 'float32');
  const b = Tensor.fromBuffer(new BigInt64Array([1n, 2n, 3n, 4n, 5n]), [5], 'int64');
  const value: PthValue = { network_weights: pyOrderedDict({ w, b, wt: w }), epoch: 3, name: 'fold_0', logs: [1.5, 2, [3, 'x']] };
  await savePth(baseFile, value);
  w.dispose();
  b.dispose();
  const zip = await readFile(baseFile);
  const members = readZipDirectory(zip, (why) => new Error(why));
  const pkl = members.find((x) => x.name.endsWith('data.pkl'))!;
  const pklAt = pkl.data.byteOffset - zip.byteOffset;
  const centralOf = (name: string) => zip.indexOf(Buffer.concat([Buffer.from(name)]), zip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]))) - 46;

  let n = 0;
  const attempt = async (what: string, bytes: Uint8Array) => {
    const file = path.join(tmp, `case_${String(n++).padStart(3, '0')}.pth`);
    await writeFile(file, bytes);
    await tally.run(file, what, async () => disposeAll(await loadPth(file)));
    await rm(file);
  };
  /** `zip` with data.pkl's byte `at` set to `v` and both CRC fields fixed, so the pickle reader sees the damage. */
  const pickleFlip = (edits: [number, number][]) => {
    const out = Buffer.from(zip);
    for (const [at, v] of edits) out[pklAt + at] = v;
    const crc = crc32(out.subarray(pklAt, pklAt + pkl.size));
    out.writeUInt32LE(crc, centralOf(pkl.name) + 16);
    out.writeUInt32LE(crc, zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x03, 0x04]), pklAt) + 14);
    return out;
  };
  for (let i = 0; i < 45; i++) {
    const edits: [number, number][] = Array.from({ length: 1 + rand.int(3) }, () => [rand.int(pkl.size), rand.int(256)]);
    await attempt(`pickle bytes ${edits.map(([a, v]) => `${a}=${v}`).join(', ')} (CRC fixed)`, pickleFlip(edits));
  }
  for (let i = 0; i < 20; i++) {
    const cut = rand.int(zip.length);
    await attempt(`cut to ${cut}`, zip.subarray(0, cut));
  }
  for (let i = 0; i < 20; i++) {
    const bytes = Buffer.from(zip);
    const at = rand.int(zip.length);
    bytes[at] ^= 1 + rand.int(255);
    await attempt(`byte ${at} changed`, bytes);
  }
  const patched = (what: string, at: number, value: number, width: 2 | 4) => {
    const out = Buffer.from(zip);
    if (width === 2) out.writeUInt16LE(value, at);
    else out.writeUInt32LE(value >>> 0, at);
    return attempt(what, out);
  };
  const pc = centralOf(pkl.name);
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  await attempt('member ../hive/version', replaceAll(zip, 'archive/version', '../hive/version'));
  await attempt('member archive/../x.pkl', replaceAll(zip, 'archive/data.pkl', 'archive/../x.pk'.padEnd(16, 'l')));
  const wrongCrc = Buffer.from(zip);
  wrongCrc[pklAt + 3] ^= 0x10;
  await attempt('a pickle byte changed (wrong CRC)', wrongCrc);
  await patched('CRC field', pc + 16, pkl.crc ^ 0x100, 4);
  await patched('declared size 4 GiB - 16', pc + 24, 0xfffffff0, 4);
  await patched('compressed size 4 GiB - 16', pc + 20, 0xfffffff0, 4);
  await patched('declared size zip64 marker without a zip64 field', pc + 24, 0xffffffff, 4);
  await patched('local header offset beyond the file', pc + 42, zip.length + 100, 4);
  await patched('entry count 65534', eocd + 10, 0xfffe, 2);
  await patched('entry count zip64 marker', eocd + 10, 0xffff, 2);
  await patched('directory size 4 GiB - 16', eocd + 12, 0xfffffff0, 4);
  await patched('name length 65535', pc + 28, 0xffff, 2);
  await patched('method 8', pc + 10, 8, 2);
  // Hand-made pickles: nesting deeper than any checkpoint, a huge integer, many items, a truncated frame.
  const proto = [0x80, 2];
  await attempt('lists nested 20000 deep', pickled(Uint8Array.from([...proto, ...Array(20000).fill(0x5d), ...Array(19999).fill(0x61), 0x2e])));
  const long4 = Buffer.alloc(5 + 2 ** 20 + 1);
  long4[0] = 0x8b;
  long4.writeUInt32LE(2 ** 20, 1);
  long4[long4.length - 1] = 0x2e;
  await attempt('a 1 MiB LONG4 integer', pickled(Buffer.concat([Buffer.from(proto), long4])));
  await attempt('APPENDS of 300000 items', pickled(Uint8Array.from([...proto, 0x5d, 0x28, ...Array(300000).fill(0x4e), 0x65, 0x2e])));
  await attempt('a FRAME longer than the data', pickled(Uint8Array.from([0x80, 4, 0x95, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0x4e, 0x2e])));
  await attempt('BINUNICODE8 of 2^60 bytes', pickled(Uint8Array.from([...proto, 0x8d, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x2e])));

  for (const line of tally.report().split('\n')) t.diagnostic(line);
  assert.ok(tally.total >= 100, `${tally.total} .pth corruptions`);
  assert.ok(tally.refused.size > 5, 'refused for several reasons');
});

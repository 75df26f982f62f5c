/**
 * Reading and writing NIfTI-1/-2 volumes (.nii, .nii.gz). Arrays are in C order with the NIfTI dims
 * reversed ([z, y, x]), as SimpleITK's GetArrayFromImage returns them, so the file's voxel bytes are the array.
 */
import { kMaxLength } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { promisify } from 'node:util';
import { createGunzip, gzip } from 'node:zlib';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../atomic-write.js';
import { type NiftiImage, VOXEL_ARRAYS, type VoxelArray, imageFromVoxelBytes, niftiFileBytes } from '../portable/nifti.js';
import {
  NIFTI1_HEADER_BYTES,
  NIFTI2_HEADER_BYTES,
  NiftiFormatError,
  formatCount,
  headerBytesOf,
  parseHeader,
  type NiftiDtype,
  type NiftiHeader,
  voxelExtent,
} from './nifti-header.js';

export { createHeader, headerAffine, itkGeometry } from './nifti-header.js';
export type { ItkGeometry, NiftiDtype, NiftiHeader } from './nifti-header.js';

export type { VoxelArray };

export interface NiftiVolume extends NiftiImage {
  /** The file it was read from. */
  path: string;
}

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
  const entry = Object.entries(VOXEL_ARRAYS).find(([, ctor]) => data instanceof ctor);
  if (!entry) throw new Error('dtypeOfArray: unsupported array type');
  return entry[0] as NiftiDtype;
}

/** A file's bytes in order, gunzipped when it is gzip; every read is bounded by what the caller asks for. */
interface ByteSource {
  /** Compressed (gzip) or plain size of the file on disk. */
  readonly fileSize: number;
  readonly gzip: boolean;
  /** The next `n` bytes (fewer only where the data ends) in a fresh, exactly sized buffer. */
  read(n: number): Promise<Uint8Array>;
  /** Drops the next `n` bytes; returns how many there were. */
  skip(n: number): Promise<number>;
  close(): Promise<void>;
}

/** Opening errors a user causes (a wrong path, a folder, permissions) as UserErrors naming the file. */
function openError(err: unknown, path: string): unknown {
  const why: Record<string, string> = {
    ENOENT: 'file not found',
    EISDIR: 'is a folder, not a NIfTI file',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
  };
  const code = (err as NodeJS.ErrnoException).code;
  return code && why[code] ? new UserError(`${path}: ${why[code]}`) : err;
}

/** Fills a buffer of `n` bytes from `take`'s chunks; the buffer grows (doubling) with what arrives, never past `n`. */
async function fillGrowing(n: number, take: (max: number) => Promise<Uint8Array | null>): Promise<Uint8Array> {
  let out = new Uint8Array(Math.min(n, 1 << 20));
  let filled = 0;
  while (filled < n) {
    const chunk = await take(n - filled);
    if (!chunk) break;
    if (filled + chunk.byteLength > out.byteLength) {
      const grown = new Uint8Array(Math.min(n, Math.max(out.byteLength * 2, filled + chunk.byteLength)));
      grown.set(out.subarray(0, filled));
      out = grown;
    }
    out.set(chunk, filled);
    filled += chunk.byteLength;
  }
  return filled === out.byteLength ? out : out.slice(0, filled);
}

function plainSource(handle: FileHandle, fileSize: number): ByteSource {
  let position = 0;
  return {
    fileSize,
    gzip: false,
    async read(n) {
      // Sized by what the file holds, so a lying header cannot make this allocate more than the file.
      const out = new Uint8Array(Math.max(0, Math.min(n, fileSize - position)));
      let filled = 0;
      while (filled < out.byteLength) {
        // One read call takes at most 2 GiB; volumes can be larger.
        const length = Math.min(out.byteLength - filled, 1 << 30);
        const { bytesRead } = await handle.read(out, filled, length, position + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      position += filled;
      return filled === out.byteLength ? out : out.slice(0, filled);
    },
    async skip(n) {
      const skipped = Math.max(0, Math.min(n, fileSize - position));
      position += skipped;
      return skipped;
    },
    close: () => handle.close(),
  };
}

/**
 * A streaming gunzip of the file: only what is asked for is inflated, so a gzip bomb costs no more memory
 * than the header it carries declares.
 */
function gzipSource(path: string, fileSize: number): ByteSource {
  const input = createReadStream(path);
  const gunzip = createGunzip();
  input.on('error', (err) => gunzip.destroy(err));
  input.pipe(gunzip);
  const chunks = gunzip[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let pending: Uint8Array = new Uint8Array(0);
  const take = async (max: number): Promise<Uint8Array | null> => {
    if (pending.byteLength === 0) {
      let next: IteratorResult<Buffer>;
      try {
        next = await chunks.next();
      } catch (err) {
        const mapped = openError(err, path);
        throw mapped instanceof UserError ? mapped : new UserError(`${path}: truncated or corrupt gzip data (${(err as Error).message})`);
      }
      if (next.done) return null;
      pending = next.value;
    }
    const chunk = pending.subarray(0, max);
    pending = pending.subarray(chunk.byteLength);
    return chunk;
  };
  return {
    fileSize,
    gzip: true,
    read: (n) => fillGrowing(n, take),
    async skip(n) {
      let skipped = 0;
      for (let chunk = n > 0 ? await take(n) : null; chunk; chunk = skipped < n ? await take(n - skipped) : null) {
        skipped += chunk.byteLength;
      }
      return skipped;
    },
    async close() {
      input.destroy();
      gunzip.destroy();
    },
  };
}

async function openSource(path: string): Promise<ByteSource> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw openError(err, path);
  }
  let size: number;
  const magic = new Uint8Array(2);
  try {
    size = (await handle.stat()).size;
    await handle.read(magic, 0, 2, 0);
  } catch (err) {
    await handle.close();
    throw openError(err, path);
  }
  if (size >= 2 && magic[0] === 0x1f && magic[1] === 0x8b) {
    await handle.close();
    return gzipSource(path, size);
  }
  return plainSource(handle, size);
}

/**
 * Deflate inflates at most 1032:1, so a gzip file of `size` bytes holds at most this many bytes; a header that
 * declares more is refused before anything is inflated (a small slack covers the gzip framing).
 */
const maxInflatedBytes = (size: number): number => size * 1032 + 1024;

/** The voxel count, dims and byte size a header declares, for messages. */
function declared(header: NiftiHeader, voxOffset: number): string {
  const { count, bytes } = voxelExtent(header);
  return `header declares ${formatCount(count)} voxels (dims ${header.dims.join('×')}, ${header.datatype}), ${bytes} bytes at offset ${voxOffset}`;
}

/**
 * Refuses a header whose voxels cannot be in the file: beyond its end (plain), beyond what its gzip data can
 * inflate to, or beyond what one typed array can hold. Runs before the voxel buffer is allocated.
 */
function checkDataFits(header: NiftiHeader, voxOffset: number, source: ByteSource, path: string): void {
  const end = voxOffset + voxelExtent(header).bytes;
  const fail = (why: string): never => {
    throw new UserError(`${path}: truncated or corrupt: ${declared(header, voxOffset)}: ${why}`);
  };
  if (!source.gzip && end > source.fileSize) fail(`larger than the file (${source.fileSize} bytes)`);
  if (source.gzip && end > maxInflatedBytes(source.fileSize)) {
    fail(`larger than the file (${source.fileSize} bytes of gzip data inflate to at most ${maxInflatedBytes(source.fileSize)})`);
  }
  if (voxelExtent(header).bytes > kMaxLength) fail(`more than the ${kMaxLength} bytes one array can hold`);
}

/** The header of `source`, validated; a refusal names `path`. */
async function readHeaderOf(source: ByteSource, path: string): Promise<ReturnType<typeof parseHeader>> {
  let head = await source.read(NIFTI1_HEADER_BYTES);
  const size = headerBytesOf(head);
  if (size > head.byteLength && head.byteLength === NIFTI1_HEADER_BYTES) {
    const rest = await source.read(size - head.byteLength);
    head = Buffer.concat([head, rest]);
  }
  try {
    return parseHeader(head);
  } catch (err) {
    if (err instanceof NiftiFormatError) throw new UserError(`${path}: ${err.message}`);
    throw err;
  }
}

/**
 * Reads a .nii or .nii.gz file (gzip detected by its magic bytes, not the name). The header is validated before
 * any voxel memory is allocated, and the data it declares is checked against the file, so a hostile header is
 * refused with a UserError naming the file; at most the declared size is ever inflated.
 */
export async function readNifti(path: string): Promise<NiftiVolume> {
  const source = await openSource(path);
  let header: NiftiHeader;
  let bytes: Uint8Array;
  let littleEndian: boolean;
  try {
    let voxOffset: number;
    ({ header, voxOffset, littleEndian } = await readHeaderOf(source, path));
    checkDataFits(header, voxOffset, source, path);
    const consumed = header.version === 1 ? NIFTI1_HEADER_BYTES : NIFTI2_HEADER_BYTES;
    const nbytes = voxelExtent(header).bytes;
    const gap = voxOffset - consumed;
    bytes = (await source.skip(gap)) === gap ? await source.read(nbytes) : new Uint8Array(0);
    if (bytes.byteLength < nbytes) {
      throw new UserError(
        `${path}: truncated or corrupt: ${declared(header, voxOffset)}, but the ${source.gzip ? 'gzip data holds' : 'file holds'} ` +
          `only ${bytes.byteLength} bytes of voxels`,
      );
    }
  } finally {
    await source.close();
  }
  return { ...imageFromVoxelBytes(bytes, header, littleEndian), path };
}

/** `data` converted to `dtype`; refuses values an integer dtype cannot hold exactly. */
function convertData(data: VoxelArray, dtype: NiftiDtype, path: string): VoxelArray {
  if (data instanceof VOXEL_ARRAYS[dtype]) return data;
  const range = INT_RANGES[dtype];
  if (range) {
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (!Number.isInteger(v) || v < range[0] || v > range[1]) {
        throw new Error(`writeNifti ${path}: value ${v} at index ${i} cannot be stored as ${dtype}`);
      }
    }
  }
  const out = new VOXEL_ARRAYS[dtype](data.length);
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
  const file = niftiFileBytes(voxels, dims, like, dtype);
  await writeFileAtomic(path, path.endsWith('.gz') ? await promisify(gzip)(file) : file);
}

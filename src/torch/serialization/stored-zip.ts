import { crc32 } from 'node:zlib';
import { UserError } from '../../errors.js';

/**
 * The zip container of torch.save: every entry STORED (uncompressed), so entries are served as
 * zero-copy views of the file bytes. Only the subset torch uses is supported (incl. zip64 sizes).
 */

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_EOCD64_LOCATOR = 0x07064b50;
const U32_MAX = 0xffffffff;

/**
 * `text` (taken from a file) with control characters escaped, so an error message that quotes it stays one line
 * and cannot rewrite the terminal.
 */
export function printable(text: string): string {
  return text.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** One member of a zip as its central directory describes it; `data` is the (possibly compressed) bytes. */
export interface ZipMember {
  name: string;
  /** 0 stored, 8 deflate. */
  method: number;
  crc: number;
  /** Uncompressed size as declared. */
  size: number;
  data: Uint8Array;
}

/**
 * A member name that could leave a folder it is extracted to (`../x`, `/x`, `C:\x`), or that holds a NUL or
 * backslash, is refused even though nothing here extracts to disk: no honest writer produces one.
 */
function unsafeName(name: string): boolean {
  return name === '' || name.startsWith('/') || /^[A-Za-z]:/.test(name) || /[\\\0]/.test(name) || name.split('/').includes('..');
}

/**
 * Lists the members of a zip held in `bytes`, checking every offset and size against the file before it is
 * used (so a damaged or hostile directory is refused, never read past), refusing unsafe or repeated names and
 * encrypted members. `fail` builds the error for a reason. Includes the zip64 records torch writes past 4 GiB.
 */
export function readZipDirectory(bytes: Uint8Array, failWith: (why: string) => Error): ZipMember[] {
  const fail = (why: string) => failWith(printable(why));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const within = (at: number, n: number, what: string) => {
    if (at < 0 || at + n > bytes.length) throw fail(`${what} lies beyond the end of the file`);
  };
  const u16 = (at: number) => view.getUint16(at, true);
  const u32 = (at: number) => view.getUint32(at, true);
  const u64 = (at: number) => {
    const v = view.getBigUint64(at, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw fail('zip64 field out of range');
    return Number(v);
  };

  // The end-of-central-directory record sits in the last 22 + 65535 (comment) bytes.
  let eocd = -1;
  for (let at = bytes.length - 22; at >= Math.max(0, bytes.length - 22 - 0xffff); at--) {
    if (u32(at) === SIG_EOCD) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) throw fail('no end-of-central-directory record (the file is cut short or not a zip)');
  let count = u16(eocd + 10);
  let cdSize = u32(eocd + 12);
  let cdOffset = u32(eocd + 16);
  if (count === 0xffff || cdSize === U32_MAX || cdOffset === U32_MAX) {
    const locator = eocd - 20;
    if (locator < 0 || u32(locator) !== SIG_EOCD64_LOCATOR) throw fail('zip64 locator missing');
    const eocd64 = u64(locator + 8);
    if (eocd64 + 56 > bytes.length || u32(eocd64) !== SIG_EOCD64) throw fail('zip64 directory record missing');
    count = u64(eocd64 + 32);
    cdSize = u64(eocd64 + 40);
    cdOffset = u64(eocd64 + 48);
  }
  if (cdOffset + cdSize > bytes.length) throw fail('central directory lies beyond the end of the file');
  // Each directory entry takes at least 46 bytes: a larger count is a lie, whatever the loop would find.
  if (count * 46 > cdSize) throw fail(`the directory claims ${count} entries but holds ${cdSize} bytes`);

  const members: ZipMember[] = [];
  const names = new Set<string>();
  let at = cdOffset;
  for (let i = 0; i < count; i++) {
    if (at + 46 > cdOffset + cdSize || u32(at) !== SIG_CENTRAL) throw fail(`central directory entry ${i} is damaged`);
    const flags = u16(at + 8);
    const method = u16(at + 10);
    const crc = u32(at + 16);
    let compressed = u32(at + 20);
    let size = u32(at + 24);
    const nameLen = u16(at + 28);
    const extraLen = u16(at + 30);
    const commentLen = u16(at + 32);
    let localOffset = u32(at + 42);
    within(at, 46 + nameLen + extraLen + commentLen, `central directory entry ${i}`);
    const name = Buffer.from(bytes.buffer, bytes.byteOffset + at + 46, nameLen).toString('utf8');
    if (unsafeName(name)) throw fail(`entry ${JSON.stringify(name)} has an unsafe name`);
    if (names.has(name)) throw fail(`entry ${name} appears twice`);
    names.add(name);
    if (flags & 1) throw fail(`entry ${name} is encrypted`);
    // zip64 extra field: 64-bit values for exactly those fields saturated above, in this order.
    const extraEnd = at + 46 + nameLen + extraLen;
    for (let x = at + 46 + nameLen; x + 4 <= extraEnd; ) {
      const id = u16(x);
      const len = u16(x + 2);
      if (x + 4 + len > extraEnd) throw fail(`entry ${name} has a damaged extra field`);
      if (id === 0x0001) {
        let p = x + 4;
        const next = () => {
          if (p + 8 > x + 4 + len) throw fail(`entry ${name} has a short zip64 field`);
          p += 8;
          return u64(p - 8);
        };
        if (size === U32_MAX) size = next();
        if (compressed === U32_MAX) compressed = next();
        if (localOffset === U32_MAX) localOffset = next();
      }
      x += 4 + len;
    }
    if (localOffset + 30 > bytes.length || u32(localOffset) !== SIG_LOCAL) throw fail(`entry ${name}: local header missing`);
    const start = localOffset + 30 + u16(localOffset + 26) + u16(localOffset + 28);
    if (start + compressed > bytes.length) throw fail(`entry ${name} runs past the end of the file`);
    members.push({ name, method, crc, size, data: bytes.subarray(start, start + compressed) });
    at += 46 + nameLen + extraLen + commentLen;
  }
  return members;
}

/** Reads every entry of a stored zip, checking bounds and CRCs; keys are entry names. */
export function readStoredZip(bytes: Uint8Array, source: string): Map<string, Uint8Array> {
  const fail = (why: string) => new UserError(`${source}: corrupt or truncated checkpoint zip: ${printable(why)}`);
  const entries = new Map<string, Uint8Array>();
  for (const { name, method, crc, size, data } of readZipDirectory(bytes, fail)) {
    if (method !== 0) throw fail(`entry ${name} is compressed (method ${method}); torch writes stored entries only`);
    if (data.byteLength !== size) throw fail(`entry ${name} has differing stored and real sizes`);
    if (crc32(data) !== crc) throw fail(`entry ${name} fails its CRC check`);
    entries.set(name, data);
  }
  return entries;
}

/**
 * Lays out a stored zip as a list of chunks (entry data is not copied). Each entry's data starts
 * on an `align`-byte boundary, padded through an "FB" extra field as torch does, so readers can map
 * storages directly.
 */
export function writeStoredZip(entries: readonly { name: string; data: Uint8Array }[], align = 64): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const { name, data } of entries) {
    const nameBytes = Buffer.from(name, 'utf8');
    const pad = (align - ((offset + 30 + nameBytes.length + 4) % align)) % align;
    const crc = crc32(data);
    if (offset > U32_MAX || data.byteLength >= U32_MAX) {
      throw new Error(`checkpoint entry ${name}: archives over 4 GiB (zip64) are not written`);
    }
    const local = Buffer.alloc(30 + nameBytes.length + 4 + pad, 'Z'.charCodeAt(0));
    local.writeUInt32LE(SIG_LOCAL, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0, 6); // flags
    local.writeUInt16LE(0, 8); // method: stored
    local.writeUInt32LE(0, 10); // time, date
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.byteLength, 18);
    local.writeUInt32LE(data.byteLength, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    local.writeUInt16LE(4 + pad, 28);
    nameBytes.copy(local, 30);
    local.write('FB', 30 + nameBytes.length, 'latin1');
    local.writeUInt16LE(pad, 30 + nameBytes.length + 2);

    const header = Buffer.alloc(46 + nameBytes.length);
    header.writeUInt32LE(SIG_CENTRAL, 0);
    header.writeUInt16LE(20, 4); // version made by
    header.writeUInt16LE(20, 6); // version needed
    header.writeUInt32LE(0, 8); // flags, method
    header.writeUInt32LE(0, 12); // time, date
    header.writeUInt32LE(crc, 16);
    header.writeUInt32LE(data.byteLength, 20);
    header.writeUInt32LE(data.byteLength, 24);
    header.writeUInt16LE(nameBytes.length, 28);
    // extra, comment, disk, attributes stay 0
    header.writeUInt32LE(offset, 42);
    nameBytes.copy(header, 46);
    central.push(header);

    chunks.push(local, data);
    offset += local.length + data.byteLength;
  }
  const cdSize = central.reduce((n, c) => n + c.length, 0);
  if (offset > U32_MAX || entries.length > 0xfffe) throw new Error('archives over 4 GiB (zip64) are not written');
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(SIG_EOCD, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(cdSize, 12);
  eocd.writeUInt32LE(offset, 16);
  chunks.push(...central, eocd);
  return chunks;
}

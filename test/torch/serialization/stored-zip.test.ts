import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { zipSync } from 'fflate';
import { UserError } from '../../../src/errors.js';
import { readStoredZip, writeStoredZip } from '../../../src/torch/serialization/stored-zip.js';
import { pythonSkipReason, runPython } from './python-ref.js';

const entries = [
  { name: 'archive/data.pkl', data: Buffer.from('pickle bytes') },
  { name: 'archive/data/0', data: Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) & 0xff) },
  { name: 'archive/data/1', data: new Uint8Array(0) },
  { name: 'archive/data/2', data: Uint8Array.from([1, 2, 3]) },
  { name: 'archive/version', data: Buffer.from('3\n') },
];

test('stored zip: written entries read back unchanged, each aligned to 64 bytes', () => {
  const file = Buffer.concat(writeStoredZip(entries));
  const read = readStoredZip(file, 'mem.pth');
  assert.deepEqual([...read.keys()], entries.map((e) => e.name));
  for (const { name, data } of entries) {
    const got = read.get(name)!;
    assert.deepEqual(Buffer.from(got), Buffer.from(data), name);
    assert.equal((got.byteOffset - file.byteOffset) % 64, 0, `${name} is 64-byte aligned`);
    assert.equal(got.buffer, file.buffer, `${name} is a view, not a copy`);
  }
});

test('stored zip: python zipfile accepts what is written (CRCs, sizes, stored method)', (t) => {
  const skip = pythonSkipReason();
  if (skip) return t.skip(skip);
  const dir = mkdtempSync(path.join(tmpdir(), 'stored-zip-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'entries.zip');
  writeFileSync(file, Buffer.concat(writeStoredZip(entries)));
  const out = runPython(
    `import json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
print(json.dumps([[i.filename, i.compress_type, z.read(i).hex()] for i in z.infolist()]))`,
    file,
  );
  assert.deepEqual(JSON.parse(out), entries.map((e) => [e.name, 0, Buffer.from(e.data).toString('hex')]));
});

test('stored zip: zip64 directory records are followed', () => {
  const file = toZip64(Buffer.concat(writeStoredZip(entries)));
  const read = readStoredZip(file, 'zip64.pth');
  for (const { name, data } of entries) assert.deepEqual(Buffer.from(read.get(name)!), Buffer.from(data), name);
});

test('stored zip: compressed entries and damage are reported as UserErrors naming the file', () => {
  const deflated = zipSync({ 'archive/data.pkl': new Uint8Array(500).fill(1) }, { level: 6 });
  assert.throws(() => readStoredZip(deflated, 'deflated.pth'), (e: Error) => e instanceof UserError && /deflated\.pth: .*compressed \(method 8\)/.test(e.message));
  const file = Buffer.concat(writeStoredZip(entries));
  const cut = file.subarray(0, file.length - 40); // central directory partly gone
  assert.throws(() => readStoredZip(cut, 'cut.pth'), /cut\.pth: corrupt or truncated checkpoint zip/);
  const damaged = Buffer.from(file);
  damaged[readStoredZip(file, 'ok.pth').get('archive/data/0')!.byteOffset - file.byteOffset + 500] ^= 1;
  assert.throws(() => readStoredZip(damaged, 'bad.pth'), /bad\.pth: .*archive\/data\/0 fails its CRC check/);
});

/** Rewrites a small zip so that every size/offset lives in zip64 records (as zips over 4 GiB have them). */
function toZip64(zip: Buffer): Buffer {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = zip.readUInt16LE(eocd + 10);
  const cdOffset = zip.readUInt32LE(eocd + 16);
  const central: Buffer[] = [];
  let at = cdOffset;
  for (let i = 0; i < count; i++) {
    const nameLen = zip.readUInt16LE(at + 28);
    const header = Buffer.from(zip.subarray(at, at + 46 + nameLen));
    const extra = Buffer.alloc(4 + 24);
    extra.writeUInt16LE(0x0001, 0);
    extra.writeUInt16LE(24, 2);
    extra.writeBigUInt64LE(BigInt(header.readUInt32LE(24)), 4); // size
    extra.writeBigUInt64LE(BigInt(header.readUInt32LE(20)), 12); // compressed size
    extra.writeBigUInt64LE(BigInt(header.readUInt32LE(42)), 20); // local header offset
    header.writeUInt32LE(0xffffffff, 20);
    header.writeUInt32LE(0xffffffff, 24);
    header.writeUInt32LE(0xffffffff, 42);
    header.writeUInt16LE(extra.length, 30);
    central.push(header, extra);
    at += 46 + nameLen;
  }
  const cd = Buffer.concat(central);
  const eocd64 = Buffer.alloc(56);
  eocd64.writeUInt32LE(0x06064b50, 0);
  eocd64.writeBigUInt64LE(44n, 4);
  eocd64.writeBigUInt64LE(BigInt(count), 24);
  eocd64.writeBigUInt64LE(BigInt(count), 32);
  eocd64.writeBigUInt64LE(BigInt(cd.length), 40);
  eocd64.writeBigUInt64LE(BigInt(cdOffset), 48);
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(0x07064b50, 0);
  locator.writeBigUInt64LE(BigInt(cdOffset + cd.length), 8);
  locator.writeUInt32LE(1, 16);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(0xffff, 8);
  end.writeUInt16LE(0xffff, 10);
  end.writeUInt32LE(0xffffffff, 12);
  end.writeUInt32LE(0xffffffff, 16);
  return Buffer.concat([zip.subarray(0, cdOffset), cd, eocd64, locator, end]);
}

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UserError } from '../../../src/errors.js';
import { allowedGlobal } from '../../../src/torch/serialization/checkpoint-allowlist.js';
import { unpickle, type UnpickleEnv } from '../../../src/torch/serialization/pickle-reader.js';
import { PickleWriter } from '../../../src/torch/serialization/pickle-writer.js';
import { isOrderedDict, TorchDevice } from '../../../src/torch/serialization/py-values.js';

const env: UnpickleEnv = {
  source: 'test.pkl',
  resolveGlobal: allowedGlobal,
  persistentLoad: () => {
    throw new Error('no storages here');
  },
  isLeaf: (v) => v instanceof TorchDevice,
};

/** Assembles a pickle from opcode characters, byte values and strings (GLOBAL lines). */
const asm = (...parts: (string | number)[]) =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'number' ? [p] : [...Buffer.from(p, 'latin1')])));

const refused = (bytes: Uint8Array, pattern: RegExp) =>
  assert.throws(() => unpickle(bytes, env), (e: Error) => e instanceof UserError && /^test\.pkl: /.test(e.message) && pattern.test(e.message));

test('integers and floats survive writer → reader at every encoding boundary', () => {
  const ints = [0, 1, 255, 256, 65535, 65536, -1, -256, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, -(2 ** 31) - 1, 2 ** 53 - 1, -(2 ** 53 - 1)];
  const bigs = [2n ** 53n, -(2n ** 53n) - 1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 64n, 127n << 100n, -(1n << 1000n)];
  const floats = [0.1, -2.5, 1e-310, Number.MAX_VALUE, Infinity, -Infinity];
  for (const v of [...ints, ...bigs]) {
    const w = new PickleWriter();
    w.int(v);
    const expected = typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
    assert.equal(unpickle(w.finish(), env), expected, String(v));
  }
  for (const v of [...floats, NaN, -0]) {
    const w = new PickleWriter();
    w.float(v);
    assert.ok(Object.is(unpickle(w.finish(), env), v), String(v));
  }
});

test('python protocol-2 output decodes: dict/list/tuple/memo/OrderedDict/bytes/device', () => {
  // pickle.dumps({'a': [1, (2, 'x')], 'a2': <same list>, 'od': OrderedDict(k=b'\xff'), 'd': torch.device('cuda', 1)}, protocol=2)
  const bytes = asm(
    0x80, 2, '}q', 0, '(X', 1, 0, 0, 0, 'aq', 1, ']q', 2, '(K', 1, 'K', 2, 'X', 1, 0, 0, 0, 'xq', 3, 0x86, 'q', 4, 'eX', 2, 0, 0, 0, 'a2h', 2,
    'X', 2, 0, 0, 0, 'odccollections\nOrderedDict\n)R(X', 1, 0, 0, 0, 'kc_codecs\nencode\nX', 2, 0, 0, 0, 0xc3, 0xbf, 'X', 6, 0, 0, 0, 'latin1', 0x86, 'RuX',
    1, 0, 0, 0, 'dctorch\ndevice\nX', 4, 0, 0, 0, 'cudaK', 1, 0x86, 'Ru.',
  );
  const v = unpickle(bytes, env) as Record<string, unknown>;
  assert.deepEqual(v.a, [1, [2, 'x']]);
  assert.equal(v.a, v.a2, 'memo keeps shared references shared');
  assert.ok(Object.isFrozen((v.a as unknown[])[1]), 'tuples are frozen arrays');
  assert.ok(isOrderedDict(v.od as object));
  assert.deepEqual((v.od as Record<string, unknown>).k, Uint8Array.from([0xff]));
  assert.deepEqual(v.d, new TorchDevice('cuda', 1));
});

test('keys such as __proto__ become own properties and never touch prototypes', () => {
  const v = unpickle(asm(0x80, 2, '}(X', 9, 0, 0, 0, '__proto__}X', 1, 0, 0, 0, 'pK', 1, 'su.'), env) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(v), Object.prototype);
  assert.deepEqual(Object.keys(v), ['__proto__']);
  assert.equal(({} as Record<string, unknown>).p, undefined);
});

test('anything off the allow-list is refused by name, before it could be called', () => {
  refused(asm(0x80, 2, 'cposix\nsystem\nX', 2, 0, 0, 0, 'ls', 0x85, 'R.'), /refusing to load global 'posix\.system'/);
  refused(asm(0x80, 4, 0x8c, 2, 'os', 0x8c, 6, 'system', 0x93, '.'), /'os\.system'/);
  refused(asm(0x80, 2, 'cbuiltins\ngetattr\n.'), /'builtins\.getattr'/);
  // granted names are only usable the way the allow-list says
  refused(asm(0x80, 2, 'ctorch\nFloatStorage\n)R.'), /refusing to call 'torch\.FloatStorage'/);
  refused(asm(0x80, 2, 'c_codecs\nencode\nX', 1, 0, 0, 0, 'aX', 5, 0, 0, 0, 'rot13', 0x86, 'R.'), /_codecs\.encode: only 'latin1'/);
  refused(asm(0x80, 2, 'ccollections\nOrderedDict\n)', 0x81, '.'), /refusing to instantiate 'collections\.OrderedDict' \(NEWOBJ\)/);
  refused(asm(0x80, 2, ']}b.'), /refusing BUILD \(setstate\) on a list/);
  refused(asm('(S\'x\'\n', 'i__main__\nEvil\n.'), /unsupported pickle opcode 0x53/);
});

test('malformed pickles are reported with the position', () => {
  refused(asm(0x80, 2, 'X', 100, 0, 0, 0, 'ab'), /truncated at byte 7/);
  refused(asm(0x80, 2, 'h', 5, '.'), /memo entry 5 is missing/);
  refused(asm(0x80, 2, 't.'), /MARK missing/);
  refused(asm(0x80, 2, 'K', 1, 'K', 2, '.'), /unbalanced stack/);
});

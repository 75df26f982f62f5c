import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { UserError } from '../../../src/errors.js';
import { readPthRecords } from '../../../src/torch/serialization/pth-records-io.js';
import { pythonSkipReason, runPython } from './python-ref.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pth-refusal-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Each payload is a real torch.save of a dict holding a tensor and an object whose __reduce__ touches a marker file. */
const PAYLOADS = [
  { name: 'os-system', global: 'posix.system', reduce: "(os.system, ('touch ' + marker,))", protocol: 2 },
  { name: 'eval', global: '__builtin__.eval', reduce: `(eval, ("__import__('os').system('touch " + marker + "')",))`, protocol: 2 },
  { name: 'subprocess', global: 'subprocess.check_call', reduce: "(subprocess.check_call, (['touch', marker],))", protocol: 4 },
];

test('a .pth whose pickle calls os.system / eval / subprocess is refused, naming the global, and runs nothing', (t) => {
  const skip = pythonSkipReason();
  if (skip) return t.skip(skip);
  return (async () => {
    for (const p of PAYLOADS) {
      const file = path.join(dir, `${p.name}.pth`);
      const marker = path.join(dir, `${p.name}.marker`);
      runPython(
        `import os, subprocess, sys, torch
marker = sys.argv[2]
class Evil:
    def __reduce__(self):
        return ${p.reduce}
torch.save({'weights': torch.zeros(2), 'payload': [Evil()]}, sys.argv[1], pickle_protocol=${p.protocol})`,
        file,
        marker,
      );
      await assert.rejects(readPthRecords(file), (err: Error) => {
        assert.ok(err instanceof UserError);
        assert.ok(err.message.includes(`'${p.global}'`), err.message);
        assert.ok(err.message.startsWith(file), 'the message names the file');
        return true;
      });
      assert.equal(existsSync(marker), false, `${p.name}: no code ran`);
      // The payload is live: python's own unrestricted load does run it.
      runPython('import sys, torch; torch.load(sys.argv[1])', file);
      assert.equal(existsSync(marker), true, `${p.name}: the payload works in python`);
    }
  })();
});

test('truncated, corrupted, legacy and foreign files give clear errors', (t) => {
  const skip = pythonSkipReason();
  if (skip) return t.skip(skip);
  return (async () => {
    const good = path.join(dir, 'good.pth');
    const legacy = path.join(dir, 'legacy.pth');
    const foreign = path.join(dir, 'foreign.zip');
    runPython(
      `import sys, torch, zipfile
torch.save({'w': torch.arange(1000, dtype=torch.float32)}, sys.argv[1])
torch.save({'w': torch.zeros(2)}, sys.argv[2], _use_new_zipfile_serialization=False)
with zipfile.ZipFile(sys.argv[3], 'w') as z: z.writestr('notes/readme.txt', 'hello')`,
      good,
      legacy,
      foreign,
    );
    const bytes = await readFile(good);
    const expectError = async (name: string, data: Uint8Array | null, pattern: RegExp) => {
      const file = path.join(dir, name);
      if (data) await writeFile(file, data);
      await assert.rejects(readPthRecords(file), (err: Error) => {
        assert.ok(err instanceof UserError, `${name}: ${err.message}`);
        assert.match(err.message, pattern);
        assert.ok(err.message.includes(file), 'the message names the file');
        return true;
      });
    };
    assert.ok(await readPthRecords(good), 'the intact file loads');
    await expectError('half.pth', bytes.subarray(0, bytes.length >> 1), /truncated.*end-of-central-directory/);
    await expectError('tail-cut.pth', bytes.subarray(0, bytes.length - 30), /truncated|corrupt/);
    const flipped = Buffer.from(bytes);
    flipped[bytes.indexOf('data/0') + 200] ^= 0xff; // inside the storage bytes
    await expectError('flipped.pth', flipped, /entry .*data\/0 fails its CRC check/);
    await expectError('empty.pth', new Uint8Array(0), /not a PyTorch checkpoint/);
    await expectError('text.pth', Buffer.from('hello, this is not a checkpoint'), /not a PyTorch checkpoint/);
    await expectError('legacy.pth', null, /legacy \(non-zip\) torch\.save format/);
    await expectError('foreign.zip', null, /no <archive>\/data\.pkl/);
    await expectError('missing.pth', null, /does not exist/);
  })();
});

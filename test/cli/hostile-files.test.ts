/**
 * A hostile NIfTI file in a raw dataset, on the real CLI: `plan-and-preprocess` refuses it with exit 1 and one
 * line naming the file, with or without --verify-dataset-integrity; no stack trace, no crash signal.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { generateSyntheticDataset } from '../../src/cli/demo/synthetic-dataset.js';
import { outputOf, runCli } from './cli-process.js';

const root = mkdtempSync(path.join(tmpdir(), 'nnunet-cli-hostile-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A raw dataset of two cases whose first image is replaced by `corrupt(its uncompressed bytes)`. */
async function datasetWith(name: string, id: number, corrupt: (raw: Buffer) => Uint8Array): Promise<{ flags: string[]; file: string }> {
  const raw = path.join(root, name, 'raw');
  const preprocessed = path.join(root, name, 'preprocessed');
  const ds = await generateSyntheticDataset({ rawDir: raw, datasetId: id, shape: [6, 8, 8], numTraining: 2, numTest: 0 });
  const file = path.join(ds.datasetDir, 'imagesTr', 'synth_001_0000.nii.gz');
  await writeFile(file, corrupt(gunzipSync(await readFile(file))));
  return { flags: ['-d', String(id), '-np', '1', '--raw', raw, '--preprocessed', preprocessed], file };
}

test('plan-and-preprocess refuses a NIfTI whose header claims 8 GB, and one cut short, naming the file', async (t) => {
  const claims = await datasetWith('claims-8gb', 11, (raw) => {
    const out = Buffer.from(raw);
    [3, 1024, 1024, 2048].forEach((d, i) => out.writeInt16LE(d, 40 + 2 * i)); // float32: 2^31 voxels, 8 GiB
    return gzipSync(out);
  });
  const cut = await datasetWith('cut-short', 12, (raw) => gzipSync(raw.subarray(0, raw.length - 100)));
  const [verified, plain] = await Promise.all([
    runCli(['plan-and-preprocess', ...claims.flags, '--verify-dataset-integrity']),
    runCli(['plan-and-preprocess', ...cut.flags]),
  ]);
  // runCli rejects when the process dies of a signal, so a resolved result already means no crash.
  for (const [r, file, pattern] of [
    [verified, claims.file, /header declares 2\^31 voxels \(dims 1024×1024×2048, float32\).*larger than the file/],
    [plain, cut.file, /truncated or corrupt/],
  ] as const) {
    assert.equal(r.code, 1, outputOf(r));
    assert.doesNotMatch(r.stderr, /^ {4}at /m, `no stack trace: ${outputOf(r)}`);
    assert.ok(r.stderr.includes(file), `names ${file}: ${outputOf(r)}`);
    assert.match(r.stderr, pattern, outputOf(r));
    t.diagnostic(r.stderr.trim());
  }
});

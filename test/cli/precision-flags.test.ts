// --no-amp and --deterministic: listed by train and predict, and --deterministic refused by the onnx backend (a
// cuDNN setting it has no use for) the way its other libtorch-only options are.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { outputOf, runCli } from './cli-process.js';

for (const command of ['train', 'predict']) {
  test(`${command} --help lists --no-amp and --deterministic`, async () => {
    const r = await runCli([command, '--help']);
    assert.equal(r.code, 0, outputOf(r));
    assert.match(r.stdout, /--no-amp\s+float32 on CUDA instead of autocast/);
    assert.match(r.stdout, /--deterministic\s+cuDNN deterministic algorithms/);
  });
}

test('predict --backend onnx refuses --deterministic and accepts --no-amp (it runs float32 anyway)', async () => {
  const args = ['predict', '--backend', 'onnx', '-m', '/nonexistent/export', '-i', '/nonexistent/input', '-o', '/nonexistent/output'];
  const refused = await runCli([...args, '--deterministic']);
  assert.notEqual(refused.code, 0, outputOf(refused));
  assert.match(refused.stderr, /does not take --deterministic/, outputOf(refused));
  const accepted = await runCli([...args, '--no-amp']);
  assert.notEqual(accepted.code, 0, outputOf(accepted));
  assert.doesNotMatch(accepted.stderr, /does not take/, outputOf(accepted));
  assert.match(accepted.stderr, /\/nonexistent\/input: input folder not found/, outputOf(accepted));
});

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { isOrderedDict, pyFloat, pyOrderedDict, pyTuple, TorchDevice, type PyValue } from '../../../src/torch/serialization/py-values.js';
import { readPthRecords, writePthRecords } from '../../../src/torch/serialization/pth-records-io.js';
import { StorageRecord, TensorRecord } from '../../../src/torch/serialization/tensor-record.js';
import { describe, PY_DESCRIBE } from './describe-value.js';
import { PY_CHECKPOINT, pythonSkipReason, runPython } from './python-ref.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pth-interop-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const f32 = (shape: number[], values: number[]) => TensorRecord.contiguous('k', 'float32', shape, new Uint8Array(Float32Array.from(values).buffer));
/** 16-bit patterns (float16/bfloat16/int16) as bytes. */
const bits16 = (bits: number[]) => new Uint8Array(Uint16Array.from(bits).buffer);

/** A checkpoint-like tree using only what torch 1.13's weights_only unpickler accepts (no floats, no devices). */
function weightsOnlyTree(): PyValue<TensorRecord> {
  const shared = new StorageRecord('s', 'float32', new Uint8Array(Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]).buffer));
  return {
    state_dict: pyOrderedDict({
      'conv.weight': f32([2, 1, 3, 3], Array.from({ length: 18 }, (_, i) => (i - 9) / 8)),
      'conv.bias': f32([2], [0.5, -0.25]),
      'norm.num_batches_tracked': TensorRecord.contiguous('n', 'int64', [], new Uint8Array(BigInt64Array.from([42n]).buffer)),
    }),
    // float16 1.5, -2.25, 65504 and bfloat16 1.5, -2.25, by their bit patterns
    half: TensorRecord.contiguous('h', 'float16', [3], bits16([0x3e00, 0xc080, 0x7bff])),
    bf16: TensorRecord.contiguous('b', 'bfloat16', [2], bits16([0x3fc0, 0xc010])),
    f64: TensorRecord.contiguous('d', 'float64', [2], new Uint8Array(Float64Array.from([Math.PI, -1e-300]).buffer)),
    i64: TensorRecord.contiguous('l', 'int64', [2, 2], new Uint8Array(BigInt64Array.from([1n, -2n, 3n, 1n << 40n]).buffer)),
    i32: TensorRecord.contiguous('i', 'int32', [2], new Uint8Array(Int32Array.from([-7, 1 << 30]).buffer)),
    i16: TensorRecord.contiguous('s16', 'int16', [2], bits16([0x8000, 5])),
    i8: TensorRecord.contiguous('c', 'int8', [2], new Uint8Array(Int8Array.from([-128, 127]).buffer)),
    u8: TensorRecord.contiguous('u', 'uint8', [3], Uint8Array.from([0, 128, 255])),
    mask: TensorRecord.contiguous('m', 'bool', [3], Uint8Array.from([1, 0, 1])),
    // two views of one storage: a transposed 3x2 window at offset 2, and the row at offset 8
    view: new TensorRecord(shared, [2, 3], [1, 2], 2),
    row: new TensorRecord(shared, [4], [1], 8),
    optimizer_state: {
      state: new Map([
        [0, { momentum_buffer: f32([2], [1, 2]) }],
        [1, { momentum_buffer: f32([1], [3]) }],
      ]),
      param_groups: [{ params: [0, 1], nesterov: true, weight_decay: 0 }],
    },
    current_epoch: 1000,
    negative: -5,
    wide: -(2 ** 40),
    big: 2n ** 70n,
    neg_big: -(2n ** 64n),
    name: 'nnUNetTrainer ✓ é',
    nothing: null,
    mirror_axes: pyTuple(0, 1, 2),
    nested: [1, 'a', [2, pyTuple()], {}],
    many: Array.from({ length: 2500 }, (_, i) => i * 37),
  };
}

test('a value tree written here loads in python with torch.load(weights_only=True), identically', (t) => {
  const skip = pythonSkipReason();
  if (skip) return t.skip(skip);
  return (async () => {
    const file = path.join(dir, 'js-weights-only.pth');
    const tree = weightsOnlyTree();
    await writePthRecords(file, tree);
    const got = JSON.parse(runPython(`${PY_DESCRIBE}\ndump(torch.load(sys.argv[1], weights_only=True))`, file));
    assert.deepEqual(got, describe(tree));
    // spot checks on the python side's reading, independent of the description code
    const facts = runPython(
      `import torch, collections, sys
c = torch.load(sys.argv[1], weights_only=True)
print(type(c['state_dict']).__name__, c['half'].tolist(), c['bf16'].tolist(), c['view'].tolist(), c['big'], c['mirror_axes'],
      c['view'].storage().data_ptr() == c['row'].storage().data_ptr(), sorted(c['optimizer_state']['state']))`,
      file,
    );
    assert.equal(facts.trim(), 'OrderedDict [1.5, -2.25, 65504.0] [1.5, -2.25] [[2.0, 4.0, 6.0], [3.0, 5.0, 7.0]] 1180591620717411303424 (0, 1, 2) True [0, 1]');
  })();
});

test('floats, torch.device and bytes written here load in python (torch 1.13 weights_only has no float opcode, so plain torch.load)', (t) => {
  const skip = pythonSkipReason();
  if (skip) return t.skip(skip);
  return (async () => {
    const file = path.join(dir, 'js-floats.pth');
    const tree: PyValue<TensorRecord> = {
      lr: 0.01,
      one: pyFloat(1),
      tiny: 5e-324,
      nan: NaN,
      minus_inf: -Infinity,
      ema: pyOrderedDict({ mean_fg_dice: [0.5, 0.75] }),
      device: new TorchDevice('cuda', 0),
      cpu: new TorchDevice('cpu'),
      blob: Uint8Array.from([0, 255, 128, 97]),
    };
    await writePthRecords(file, tree);
    const got = JSON.parse(runPython(`${PY_DESCRIBE}\ndump(torch.load(sys.argv[1]))`, file));
    assert.deepEqual(got, describe(tree));
    assert.equal(runPython(`import torch, sys; c = torch.load(sys.argv[1]); print(repr(c['one']), c['device'])`, file).trim(), '1.0 cuda:0');
  })();
});


test('a checkpoint written by python torch.save (protocol 2 and 4) loads here identically', (t) => {
  const skip = pythonSkipReason();
  if (skip) return t.skip(skip);
  return (async () => {
    const p2 = path.join(dir, 'py.pth');
    const p4 = path.join(dir, 'py-proto4.pth');
    const out = runPython(
      `${PY_DESCRIBE}\n${PY_CHECKPOINT}\ntorch.save(ckpt, sys.argv[1])\ntorch.save(ckpt, sys.argv[2], pickle_protocol=4)\ndump(ckpt)\nprint(net.state_dict()._metadata)`,
      p2,
      p4,
    );
    const [expected, metadata] = out.trim().split('\n');
    assert.match(metadata, /OrderedDict/, 'the state dict really carries _metadata');
    for (const file of [p2, p4]) {
      const value = await readPthRecords(file);
      assert.deepEqual(describe(value), JSON.parse(expected), file);
      const ckpt = value as Record<string, PyValue<TensorRecord>>;
      assert.ok(isOrderedDict(ckpt.network_weights as object));
      const view = ckpt.view as TensorRecord;
      assert.deepEqual([view.shape, view.strides, view.storageOffset], [[3, 3, 2], [1, 4, 12], 1]);
      assert.equal(view.storage, (ckpt.row as TensorRecord).storage, 'shared storage is read once');
      const state = (ckpt.optimizer_state as Record<string, PyValue<TensorRecord>>).state;
      assert.ok(state instanceof Map && [...state.keys()].every((k) => typeof k === 'number'), 'int dict keys stay ints');
      assert.deepEqual(Object.getOwnPropertyDescriptor(ckpt, '__proto__')?.value, { polluted: 'yes' });
      assert.equal(Object.getPrototypeOf(ckpt), Object.prototype);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    }
  })();
});

test('torch 2.x layout (other archive name, .data/ records, byteorder, no alignment) loads here', (t) => {
  const skip = pythonSkipReason();
  if (skip) return t.skip(skip);
  return (async () => {
    const src = path.join(dir, 'src.pth');
    const file = path.join(dir, 'checkpoint_final.pth');
    const out = runPython(
      `${PY_DESCRIBE}\nimport zipfile\n${PY_CHECKPOINT}
torch.save(ckpt, sys.argv[1])
with zipfile.ZipFile(sys.argv[1]) as zin, zipfile.ZipFile(sys.argv[2], 'w', zipfile.ZIP_STORED) as zout:
    old = zin.namelist()[0].split('/')[0]
    zout.writestr('checkpoint_final/.data/version', '3\\n')
    zout.writestr('checkpoint_final/byteorder', 'little')
    for name in zin.namelist():
        zout.writestr(name.replace(old, 'checkpoint_final', 1), zin.read(name))
    zout.writestr('checkpoint_final/.data/serialization_id', '1234567890')
dump(ckpt)`,
      src,
      file,
    );
    assert.deepEqual(describe(await readPthRecords(file)), JSON.parse(out));
    assert.notEqual((await readFile(file)).indexOf('checkpoint_final/data.pkl'), -1);
  })();
});

/**
 * Cross-checks against PyTorch: runs one Python script under the reference interpreter (/usr/bin/python3 with torch)
 * per test file. Tensors travel both ways as {dtype, shape, base64 bytes}, so values are exchanged bit for bit.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { type DType, Tensor } from '../../src/torch/index.js';

export const REFERENCE_PYTHON = '/usr/bin/python3';

/** Why the reference Python cannot import `modules`, or null when it can. */
export function referenceUnavailable(modules: string[] = ['torch']): string | null {
  if (!existsSync(REFERENCE_PYTHON)) return `${REFERENCE_PYTHON} not found`;
  const r = spawnSync(REFERENCE_PYTHON, ['-c', modules.map((m) => `import ${m}`).join('; ')], { encoding: 'utf8' });
  return r.status === 0 ? null : `${REFERENCE_PYTHON} cannot import ${modules.join(', ')}: ${r.stderr.trim().split('\n').pop()}`;
}

/** A value exchanged with Python: tensors, numbers, strings, booleans, and lists or records of them. */
export type Exchange = Tensor | number | string | boolean | null | Exchange[] | { [key: string]: Exchange };

interface EncodedTensor {
  __tensor__: true;
  dtype: DType;
  shape: number[];
  data: string;
}

function encode(value: Exchange): unknown {
  if (value instanceof Tensor) {
    const t: EncodedTensor = { __tensor__: true, dtype: value.dtype, shape: value.shape, data: value.toBuffer().toString('base64') };
    return t;
  }
  if (Array.isArray(value)) return value.map(encode);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encode(v)]));
  return value;
}

function decode(value: unknown): Exchange {
  if (Array.isArray(value)) return value.map(decode);
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (o.__tensor__ === true) {
      const t = o as unknown as EncodedTensor;
      return Tensor.fromBuffer(Buffer.from(t.data, 'base64'), t.shape, t.dtype);
    }
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, decode(v)]));
  }
  return value as Exchange;
}

// The script sees `inp` (the inputs, tensors as torch tensors) and fills the dict `out`. One thread, so reductions
// run in a fixed order.
const PRELUDE = `
import sys, json, base64, torch
torch.set_num_threads(1)
_DT = {'float32': torch.float32, 'float64': torch.float64, 'float16': torch.float16, 'bfloat16': torch.bfloat16,
       'int64': torch.int64, 'int32': torch.int32, 'int16': torch.int16, 'int8': torch.int8, 'uint8': torch.uint8,
       'bool': torch.bool}
def _dec(o):
    if isinstance(o, dict) and o.get('__tensor__') is True:
        raw = bytearray(base64.b64decode(o['data']))
        dt = _DT[o['dtype']]
        t = torch.frombuffer(raw, dtype=dt) if len(raw) else torch.empty(0, dtype=dt)
        return t.reshape(o['shape']).clone()
    if isinstance(o, dict): return {k: _dec(v) for k, v in o.items()}
    if isinstance(o, list): return [_dec(v) for v in o]
    return o
def _enc(o):
    if isinstance(o, torch.Tensor):
        t = o.detach().cpu().contiguous()
        name = next(k for k, v in _DT.items() if v == t.dtype)
        raw = (t.view(torch.int16) if t.dtype in (torch.float16, torch.bfloat16) else t).numpy().tobytes()
        return {'__tensor__': True, 'dtype': name, 'shape': list(t.shape), 'data': base64.b64encode(raw).decode()}
    if isinstance(o, dict): return {str(k): _enc(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)): return [_enc(v) for v in o]
    if hasattr(o, 'item'): return o.item()
    return o
inp = _dec(json.load(sys.stdin))
out = {}
`;
const EPILOGUE = `
sys.stdout.write('\\n' + json.dumps(_enc(out)) + '\\n')
`;

/** Runs `script` (Python; reads `inp`, writes results into the dict `out`) and returns `out` with tensors decoded. */
export function runTorch(script: string, inputs: Record<string, Exchange> = {}): Record<string, Exchange> {
  const r = spawnSync(REFERENCE_PYTHON, ['-c', PRELUDE + script + EPILOGUE], {
    input: JSON.stringify(encode(inputs)),
    encoding: 'utf8',
    maxBuffer: 256 << 20,
  });
  if (r.status !== 0) throw new Error(`reference python failed (${r.status}):\n${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  return decode(JSON.parse(lines[lines.length - 1])) as Record<string, Exchange>;
}

/** The tensor stored under `key` in a reference result. */
export function refTensor(ref: Record<string, Exchange>, key: string): Tensor {
  const v = ref[key];
  if (!(v instanceof Tensor)) throw new Error(`reference result has no tensor '${key}'`);
  return v;
}

function values(t: Tensor): number[] {
  const f = t.dtype === 'float16' || t.dtype === 'bfloat16' ? t.to('float32') : t;
  return f.toArray();
}

/** Same shape and |actual − expected| ≤ atol + rtol·|expected| everywhere (NaN only where expected is NaN). */
export function assertClose(actual: Tensor, expected: Tensor | number[], opts: { atol?: number; rtol?: number; what?: string } = {}): void {
  const { atol = 1e-6, rtol = 1e-5, what = 'tensor' } = opts;
  const exp = expected instanceof Tensor ? values(expected) : expected;
  if (expected instanceof Tensor) assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  const act = values(actual);
  assert.equal(act.length, exp.length, `${what}: element count`);
  let worst = -1;
  let worstDiff = 0;
  for (let i = 0; i < act.length; i++) {
    if (Number.isNaN(exp[i]) && Number.isNaN(act[i])) continue;
    const diff = Math.abs(act[i] - exp[i]);
    if (!(diff <= atol + rtol * Math.abs(exp[i])) && (worst < 0 || diff > worstDiff || Number.isNaN(diff))) {
      worst = i;
      worstDiff = diff;
    }
  }
  if (worst >= 0) assert.fail(`${what}: element ${worst} is ${act[worst]}, expected ${exp[worst]} (|diff| ${worstDiff}, atol ${atol}, rtol ${rtol})`);
}

/** Same dtype, shape and bytes. */
export function assertSameTensor(actual: Tensor, expected: Tensor, what = 'tensor'): void {
  assert.equal(actual.dtype, expected.dtype, `${what}: dtype`);
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  assert.ok(actual.toBuffer().equals(expected.toBuffer()), `${what}: bytes differ (max |diff| ${maxAbsDiff(actual, expected)})`);
}

export function maxAbsDiff(a: Tensor, b: Tensor): number {
  const x = values(a);
  const y = values(b);
  return x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i])), 0);
}

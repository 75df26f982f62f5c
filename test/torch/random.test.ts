// Seeded random streams: reproducibility, state save/restore, and the same numbers as torch.Generator.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import {
  Generator, empty, manualSeed, multinomial, normal_, rand, randint, randn, randperm, tensor, uniform_,
} from '../../src/torch/index.js';
import { type Exchange, assertSameTensor, refTensor, referenceUnavailable, runTorch } from './torch-reference.js';

describe('seeded streams', () => {
  test('the same seed gives the same numbers; another seed does not', () => {
    const a = randn([100], new Generator(42)).toArray();
    assert.deepEqual(randn([100], new Generator(42)).toArray(), a);
    assert.notDeepEqual(randn([100], new Generator(43)).toArray(), a);
    assert.deepEqual(randn([100], new Generator(5).manualSeed(42)).toArray(), a, 'manualSeed reseeds');
  });

  test('value ranges and dtypes', () => {
    const g = new Generator(1);
    const u = rand([1000], g, 'float64');
    assert.equal(u.dtype, 'float64');
    assert.ok(u.amin().item() >= 0 && u.amax().item() < 1);
    const r = randint(3, 7, [1000], g);
    assert.equal(r.dtype, 'int64');
    assert.deepEqual(r.unique().values.toArray(), [3, 4, 5, 6]);
    const n = randn([20000], g);
    assert.ok(Math.abs(n.mean().item()) < 0.05 && Math.abs(n.std().item() - 1) < 0.05);
    assert.deepEqual(randperm(10, g).sort().values.toArray(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const x = uniform_(empty([500]), -2, 3, g);
    assert.ok(x.amin().item() >= -2 && x.amax().item() < 3);
    const y = normal_(empty([20000]), 5, 0.5, g);
    assert.ok(Math.abs(y.mean().item() - 5) < 0.02);
    const v = g.uniform(2, 4);
    assert.ok(v >= 2 && v < 4);
    const k = g.integer(0, 3);
    assert.ok(Number.isInteger(k) && k >= 0 && k < 3);
    const pick = multinomial(tensor([0, 0, 1, 0]), 3, true, g);
    assert.deepEqual(pick.toArray(), [2, 2, 2]);
  });

  test('saving and restoring the state continues the same stream', () => {
    const g = new Generator(123);
    randn([7], g);
    const state = g.getState();
    assert.ok(state instanceof Uint8Array);
    assert.equal(state.length, 5056);
    const after = [randn([33], g).toArray(), rand([5], g).toArray(), randint(0, 100, [9], g).toArray(), [g.random()]];
    const resumed = new Generator(999).setState(state);
    assert.deepEqual([randn([33], resumed).toArray(), rand([5], resumed).toArray(), randint(0, 100, [9], resumed).toArray(), [resumed.random()]], after);
    assert.deepEqual(g.getState(), resumed.getState(), 'states agree after the same draws');
  });

  test('a state restored into the same generator rewinds it', () => {
    const g = new Generator(8);
    const s = g.getState();
    const first = rand([16], g).toArray();
    g.setState(s);
    assert.deepEqual(rand([16], g).toArray(), first);
  });

  test('a malformed state is an Error, not a crash', () => {
    assert.throws(() => new Generator(0).setState(new Uint8Array(10)), /Error|size|state/i);
  });
});

const skip = referenceUnavailable();
describe('same stream as torch.Generator().manual_seed(seed)', { skip: skip ?? false }, () => {
  let ref: Record<string, Exchange>;
  before(() => {
    ref = runTorch(`
g = torch.Generator().manual_seed(2024)
out['state0'] = g.get_state()
out['randn_small'] = torch.randn(5, generator=g)         # scalar path (< 16 elements)
out['randn_big'] = torch.randn(3, 37, generator=g)        # vectorized path
out['rand'] = torch.rand(4, 9, generator=g)
out['rand64'] = torch.rand(11, generator=g, dtype=torch.float64)
out['randint'] = torch.randint(-5, 17, (40,), generator=g)
out['normal'] = torch.empty(50).normal_(2.0, 0.5, generator=g)
out['uniform'] = torch.empty(19).uniform_(-1.0, 3.0, generator=g)
out['randperm'] = torch.randperm(25, generator=g)
out['randn64'] = torch.randn(21, generator=g, dtype=torch.float64)
out['state1'] = g.get_state()
torch.manual_seed(77)
out['global'] = torch.randn(18)
h = torch.Generator()
h.set_state(inp['resumeState'])
out['resumed'] = torch.randn(20, generator=h)
`, { resumeState: tensor(new Generator(31).getState(), [5056], 'uint8') });
  });

  test('every draw and the state bytes equal torch', () => {
    const g = new Generator(2024);
    assertSameTensor(tensor(g.getState(), [5056], 'uint8'), refTensor(ref, 'state0'), 'state after seeding');
    assertSameTensor(randn([5], g), refTensor(ref, 'randn_small'), 'randn (scalar path)');
    assertSameTensor(randn([3, 37], g), refTensor(ref, 'randn_big'), 'randn (vectorized path)');
    assertSameTensor(rand([4, 9], g), refTensor(ref, 'rand'), 'rand');
    assertSameTensor(rand([11], g, 'float64'), refTensor(ref, 'rand64'), 'rand float64');
    assertSameTensor(randint(-5, 17, [40], g), refTensor(ref, 'randint'), 'randint');
    assertSameTensor(normal_(empty([50]), 2, 0.5, g), refTensor(ref, 'normal'), 'normal_');
    assertSameTensor(uniform_(empty([19]), -1, 3, g), refTensor(ref, 'uniform'), 'uniform_');
    assertSameTensor(randperm(25, g), refTensor(ref, 'randperm'), 'randperm');
    assertSameTensor(randn([21], g, 'float64'), refTensor(ref, 'randn64'), 'randn float64');
    assertSameTensor(tensor(g.getState(), [5056], 'uint8'), refTensor(ref, 'state1'), 'state after the draws');
  });

  test('the global generator after manualSeed equals torch.manual_seed', () => {
    manualSeed(77);
    assertSameTensor(randn([18]), refTensor(ref, 'global'), 'global randn');
  });

  test('a state saved here continues identically in torch', () => {
    const g = new Generator(31);
    assertSameTensor(randn([20], g), refTensor(ref, 'resumed'), 'randn after set_state');
  });
});

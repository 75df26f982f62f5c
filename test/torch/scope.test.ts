// tidy/keep/dispose: deterministic freeing of native tensors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Tensor, dispose, keep, ones, scopeDepth, tensor, tidy, zeros } from '../../src/torch/index.js';

test('tidy frees intermediates and returns its result alive', () => {
  let a!: Tensor;
  let b!: Tensor;
  const out = tidy(() => {
    a = ones([3]);
    b = a.mul(2);
    return b.add(1);
  });
  assert.ok(a.isDisposed && b.isDisposed);
  assert.ok(!out.isDisposed);
  assert.deepEqual(out.toArray(), [3, 3, 3]);
  assert.ok(!out.native.isFreed());
});

test('tensors inside returned arrays, plain objects and Maps survive; others do not', () => {
  let dropped!: Tensor;
  const r = tidy(() => {
    dropped = zeros([1]);
    return { list: [ones([1]), ones([2])], nested: { t: ones([3]) }, map: new Map([['k', ones([4])]]), n: 5 };
  });
  assert.ok(dropped.isDisposed);
  assert.ok(r.list.every((t) => !t.isDisposed));
  assert.ok(!r.nested.t.isDisposed);
  assert.ok(!r.map.get('k')?.isDisposed);
  assert.equal(r.n, 5);
});

test('nested scopes: an inner result moves to the outer scope and is freed there unless returned', () => {
  let inner!: Tensor;
  let innerTemp!: Tensor;
  const outer = tidy(() => {
    assert.equal(scopeDepth(), 1);
    inner = tidy(() => {
      assert.equal(scopeDepth(), 2);
      innerTemp = ones([2]);
      return innerTemp.add(1);
    });
    assert.ok(innerTemp.isDisposed, 'freed at the inner scope end');
    assert.ok(!inner.isDisposed, 'alive in the outer scope');
    return inner.mul(3);
  });
  assert.equal(scopeDepth(), 0);
  assert.ok(inner.isDisposed, 'freed at the outer scope end');
  assert.deepEqual(outer.toArray(), [6, 6]);
});

test('an exception inside tidy frees everything created there and propagates', () => {
  const created: Tensor[] = [];
  assert.throws(
    () =>
      tidy(() => {
        created.push(ones([2]), zeros([3]));
        tidy(() => created.push(ones([4])));
        zeros([2]).add(zeros([3])); // libtorch error
      }),
    /must match the size/,
  );
  assert.equal(created.length, 3);
  assert.ok(created.every((t) => t.isDisposed));
  assert.equal(scopeDepth(), 0);
});

test('keep() exempts a tensor from every scope; dispose() frees tensors found in a value', () => {
  let kept!: Tensor;
  tidy(() => {
    kept = keep(ones([2]));
    tidy(() => kept.add_(1));
  });
  assert.ok(!kept.isDisposed);
  assert.deepEqual(kept.toArray(), [2, 2]);
  const bag = { a: kept, b: [ones([1])], c: new Map([['x', ones([1])]]) };
  dispose(bag);
  assert.ok(bag.a.isDisposed && bag.b[0].isDisposed && bag.c.get('x')?.isDisposed);
  dispose(bag); // twice is harmless
});

test('in-place ops return the same tensor, which a scope result keeps', () => {
  const t = tidy(() => ones([2]).mul_(5));
  assert.ok(!t.isDisposed);
  assert.deepEqual(t.toArray(), [5, 5]);
});

test('a tensor returned from tidy that was created outside it is left alone', () => {
  const outside = tensor([1]);
  const same = tidy(() => outside);
  assert.equal(same, outside);
  assert.ok(!outside.isDisposed);
});

test('async functions are refused', () => {
  assert.throws(() => tidy((async () => ones([1])) as unknown as () => Tensor), /synchronous function/);
  assert.equal(scopeDepth(), 0);
});

test('.grad handles are tracked by the scope like any other tensor', () => {
  const w = keep(ones([2])).requiresGrad_(true);
  let g!: Tensor;
  tidy(() => {
    w.mul(3).sum().backward();
    g = w.grad as Tensor;
  });
  assert.ok(g.isDisposed, 'the handle is freed');
  assert.deepEqual(w.grad?.toArray(), [3, 3], 'the gradient itself lives on');
});

test('a freed handle is an empty shell: freeing it again is harmless, and views taken before still hold the data', () => {
  const t = tensor([1, 2, 3, 4]);
  const view = t.reshape([2, 2]);
  const handle = t.native;
  t.dispose();
  assert.ok(handle.isFreed());
  handle.free();
  t.dispose();
  assert.ok(handle.isFreed());
  assert.deepEqual(view.toArray(), [1, 2, 3, 4]);
  view.dispose();
});

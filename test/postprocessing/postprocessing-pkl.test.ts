// postprocessing.pkl: nnU-Net's file (written here by Debian's python3 with a stand-in module under upstream's
// qualified function name, so pickle emits the same global) loads; one naming any other function is refused by
// name; ours loads in Python as upstream's would.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { decodePostprocessingPkl, encodePostprocessingPkl } from '../../src/postprocessing/postprocessing-pkl.js';
import type { PostprocessingStep } from '../../src/postprocessing/remove-components.js';
import { pythonUnavailable, runPython } from '../evaluation/python-ref.js';

/** Python source defining upstream's function under its module name (parents included, as an import would). */
const STAND_IN = `
import sys, types, pickle, base64, os
import numpy as np
for name in ['nnunetv2', 'nnunetv2.postprocessing', 'nnunetv2.postprocessing.remove_connected_components']:
    sys.modules[name] = types.ModuleType(name)
rcc = sys.modules['nnunetv2.postprocessing.remove_connected_components']
def remove_all_but_largest_component_from_segmentation(segmentation, labels_or_regions, background_label=0):
    raise RuntimeError('stand-in')
remove_all_but_largest_component_from_segmentation.__module__ = rcc.__name__
rcc.remove_all_but_largest_component_from_segmentation = remove_all_but_largest_component_from_segmentation
fn = remove_all_but_largest_component_from_segmentation
`;

const missing = pythonUnavailable(['numpy', 'pickle']);
const fromB64 = (s: string) => Uint8Array.from(Buffer.from(s.trim(), 'base64'));

const EXPECTED: PostprocessingStep[] = [
  { fn: 'remove_all_but_largest_component_from_segmentation', kwargs: { labels_or_regions: [1, 2] } },
  { fn: 'remove_all_but_largest_component_from_segmentation', kwargs: { labels_or_regions: 2 } },
];

test('an nnU-Net postprocessing.pkl written by Python loads, with numpy int64 labels, in every protocol', { skip: missing ?? false }, () => {
  // as determine_postprocessing saves it: labels from LabelManager are numpy integers
  const out = runPython(`${STAND_IN}
value = ([fn, fn], [{'labels_or_regions': [np.int64(1), np.int64(2)]}, {'labels_or_regions': np.int64(2)}])
for p in (2, 4, pickle.HIGHEST_PROTOCOL):
    print(base64.b64encode(pickle.dumps(value, protocol=p)).decode())
`);
  const pickles = out.trim().split('\n');
  assert.equal(pickles.length, 3);
  for (const p of pickles) assert.deepEqual(decodePostprocessingPkl(fromB64(p), 'postprocessing.pkl'), EXPECTED);
  // an empty postprocessing (nothing helped) is two empty lists
  const empty = runPython(`${STAND_IN}\nprint(base64.b64encode(pickle.dumps(([], []))).decode())`);
  assert.deepEqual(decodePostprocessingPkl(fromB64(empty), 'postprocessing.pkl'), []);
});

test('a pickle naming any other function is refused by name, and nothing runs', { skip: missing ?? false }, () => {
  const out = runPython(`${STAND_IN}
class Evil:
    def __reduce__(self):
        return (os.system, ('touch /tmp/nnunet-ts-pwned',))
print(base64.b64encode(pickle.dumps(([os.system], [{'labels_or_regions': 1}]))).decode())
print(base64.b64encode(pickle.dumps(([fn], [{'labels_or_regions': Evil()}]))).decode())
print(base64.b64encode(pickle.dumps(([print], [{'labels_or_regions': 1}]))).decode())
`);
  const [asFunction, asReduce, builtin] = out.trim().split('\n').map(fromB64);
  assert.throws(() => decodePostprocessingPkl(asFunction, 'evil.pkl'), (e: Error) => e.name === 'UserError' && /evil\.pkl/.test(e.message) && /'posix\.system'/.test(e.message));
  assert.throws(() => decodePostprocessingPkl(asReduce, 'evil.pkl'), (e: Error) => /'posix\.system'/.test(e.message));
  assert.throws(() => decodePostprocessingPkl(builtin, 'evil.pkl'), (e: Error) => /'builtins\.print'/.test(e.message));
  assert.ok(!existsSync('/tmp/nnunet-ts-pwned'), 'os.system never ran');
});

test('our postprocessing.pkl loads in Python as upstream\'s function and kwargs', { skip: missing ?? false }, () => {
  const steps: PostprocessingStep[] = [...EXPECTED, { fn: 'remove_all_but_largest_component_from_segmentation', kwargs: { labels_or_regions: Object.freeze([1, 3]) } }];
  const bytes = encodePostprocessingPkl(steps);
  assert.deepEqual(decodePostprocessingPkl(bytes, 'ours.pkl'), steps);
  const out = runPython(
    `${STAND_IN}
fns, kwargs = pickle.loads(base64.b64decode(sys.stdin.read()))
assert all(f is fn for f in fns), fns
print(repr(kwargs))
`,
    Buffer.from(bytes).toString('base64'),
  );
  assert.equal(out.trim(), "[{'labels_or_regions': [1, 2]}, {'labels_or_regions': 2}, {'labels_or_regions': (1, 3)}]");
});

test('malformed postprocessing pickles are refused with the reason', () => {
  const bad = encodePostprocessingPkl([{ fn: 'remove_all_but_largest_component_from_segmentation', kwargs: { labels_or_regions: 1, background_label: 0 } }]);
  assert.deepEqual(decodePostprocessingPkl(bad, 'x.pkl')[0].kwargs, { labels_or_regions: 1, background_label: 0 });
  assert.throws(() => decodePostprocessingPkl(Uint8Array.from([0x80, 0x02, 0x4b, 0x01, 0x2e]), 'int.pkl'), /int\.pkl: not an nnU-Net postprocessing\.pkl/);
});

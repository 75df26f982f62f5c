// --pretrained-weights: start from the weights of an nnunet-ts or nnU-Net (Python) checkpoint. As nnU-Net's
// load_pretrained_weights: every key must match in name and shape except the segmentation heads, which are skipped;
// on any mismatch every offending key is listed with both shapes and nothing is loaded.
import { UserError } from '../errors.js';
import { readCheckpoint } from '../model/checkpoint.js';
import { type SegmentationNetwork, networkEntry } from '../model/network-registry.js';
import { type Tensor, dispose } from '../torch/index.js';

const WRAPPER_PREFIXES = ['module.', '_orig_mod.'];

function stripWrappers(key: string): string {
  let k = key;
  for (let changed = true; changed; ) {
    changed = false;
    for (const p of WRAPPER_PREFIXES) {
      if (k.startsWith(p)) {
        k = k.slice(p.length);
        changed = true;
      }
    }
  }
  return k;
}

/** `networkClassName`: the plans' network_class_name, which names the segmentation heads' key prefix. */
export async function loadPretrainedWeights(network: SegmentationNetwork, file: string, networkClassName = 'PlainConvUNet'): Promise<{ loaded: number; skipped: number }> {
  const headPrefix = networkEntry(networkClassName, file).segmentationHeadPrefix;
  let ckpt: Awaited<ReturnType<typeof readCheckpoint>>;
  try {
    ckpt = await readCheckpoint(file);
  } catch (error) {
    throw new UserError(`--pretrained-weights ${file}: ${(error as Error).message}`);
  }
  try {
    const source = new Map<string, Tensor>(Object.entries(ckpt.network_weights).map(([k, t]) => [stripWrappers(k), t]));
    const own = network.stateDict();
    const problems: string[] = [];
    const selected = new Map<string, Tensor>();
    let skipped = 0;
    for (const [key, t] of own) {
      if (key.startsWith(headPrefix)) {
        skipped++;
        continue;
      }
      const s = source.get(key);
      if (!s) problems.push(`${key}: missing in the file (model [${t.shape}])`);
      else if (s.shape.join() !== t.shape.join()) problems.push(`${key}: file [${s.shape}] vs model [${t.shape}]`);
      else selected.set(key, s);
    }
    if (problems.length) {
      throw new UserError(`--pretrained-weights ${file} does not fit this network (${problems.length} key(s)):\n  ${problems.join('\n  ')}\nThe plans (stages, features, kernels, input channels) must match the ones the weights were trained with.`);
    }
    network.loadStateDict(selected, false);
    return { loaded: selected.size, skipped };
  } finally {
    dispose(ckpt);
  }
}

// postprocessing.pkl as nnU-Net writes it (determine_postprocessing: save_pickle((pp_fns, pp_fn_kwargs), file)): a
// tuple of a list of functions, pickled by reference as `module.name` globals, and a list of keyword-argument dicts.
// A pickle names functions, so it is read by the restricted unpickler with an allow-list of exactly upstream's
// postprocessing functions (plus numpy integer scalars, which upstream's label lists hold); any other global is
// refused by name before anything is built.
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../atomic-write.js';
import { UserError } from '../errors.js';
import { allowedGlobal } from '../torch/serialization/checkpoint-allowlist.js';
import { PickleWriter } from '../torch/serialization/pickle-writer.js';
import { PyGlobal, unpickle } from '../torch/serialization/pickle-reader.js';
import { isPlainObject } from '../torch/serialization/py-values.js';
import { type LabelsOrRegions, PP_FUNCTION_NAMES, PP_MODULE, type PostprocessingFunctionName, type PostprocessingStep } from './remove-components.js';

/** A postprocessing function named by the pickle; stands for ours, never called while unpickling. */
class PostprocessingFunctionToken extends PyGlobal {
  constructor(readonly fn: PostprocessingFunctionName) {
    super(`${PP_MODULE}.${fn}`);
  }
}

const FUNCTION_TOKENS = new Map(PP_FUNCTION_NAMES.map((fn) => [`${PP_MODULE}.${fn}`, new PostprocessingFunctionToken(fn)]));

/** What a numpy integer in the kwargs needs (label values are numpy.int64 in upstream's files). */
const NUMPY_GLOBALS = new Set(['numpy.dtype', 'numpy.core.multiarray.scalar', 'numpy._core.multiarray.scalar', '_codecs.encode']);

function resolveGlobal(module: string, name: string): PyGlobal | undefined {
  const qualified = `${module}.${name}`;
  const fn = FUNCTION_TOKENS.get(qualified);
  if (fn) return fn;
  return NUMPY_GLOBALS.has(qualified) ? allowedGlobal(module, name) : undefined;
}

function labelsOrRegionsFrom(v: unknown, where: string): LabelsOrRegions {
  const isLabel = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
  if (isLabel(v)) return v;
  if (Array.isArray(v)) {
    // a tuple of labels is one region; keep it one (frozen) so that it is written back as a tuple
    if (Object.isFrozen(v) && v.every(isLabel)) return Object.freeze([...(v as number[])]);
    return v.map((item: unknown) => {
      if (isLabel(item)) return item;
      if (Array.isArray(item) && item.every(isLabel)) return Object.freeze([...(item as number[])]);
      throw new UserError(`${where}: labels_or_regions holds ${JSON.stringify(item)}, not a label or a tuple of labels`);
    });
  }
  throw new UserError(`${where}: labels_or_regions is ${JSON.stringify(v)}, not a label or a list of labels or regions`);
}

/** Parses the unpickled `(fns, kwargs)` value; `source` names the file in errors. */
export function postprocessingFromPyValue(value: unknown, source: string): PostprocessingStep[] {
  if (!Array.isArray(value) || value.length !== 2 || !Array.isArray(value[0]) || !Array.isArray(value[1])) {
    throw new UserError(`${source}: not an nnU-Net postprocessing.pkl (expected a tuple of a function list and a kwargs list)`);
  }
  const [fns, kwargs] = value as [unknown[], unknown[]];
  if (fns.length !== kwargs.length) throw new UserError(`${source}: ${fns.length} function(s) but ${kwargs.length} kwargs dict(s)`);
  return fns.map((fn, i) => {
    const where = `${source}: step ${i + 1}`;
    if (!(fn instanceof PostprocessingFunctionToken)) throw new UserError(`${where} is not a postprocessing function`);
    const k = kwargs[i];
    if (!isPlainObject(k)) throw new UserError(`${where}: kwargs are not a dict with str keys`);
    const unknownKeys = Object.keys(k).filter((key) => key !== 'labels_or_regions' && key !== 'background_label');
    if (unknownKeys.length) throw new UserError(`${where}: unknown argument(s) ${unknownKeys.join(', ')} of ${fn.fn}`);
    if (!('labels_or_regions' in k)) throw new UserError(`${where}: labels_or_regions is missing`);
    const step: PostprocessingStep = { fn: fn.fn, kwargs: { labels_or_regions: labelsOrRegionsFrom(k.labels_or_regions, where) } };
    if ('background_label' in k) {
      if (typeof k.background_label !== 'number' || !Number.isSafeInteger(k.background_label)) throw new UserError(`${where}: background_label is not an int`);
      step.kwargs.background_label = k.background_label;
    }
    return step;
  });
}

/** Decodes postprocessing.pkl bytes (any pickle protocol up to 5). */
export function decodePostprocessingPkl(bytes: Uint8Array, source: string): PostprocessingStep[] {
  const value = unpickle(bytes, {
    source,
    resolveGlobal,
    persistentLoad: () => {
      throw new UserError(`${source}: persistent ids do not occur in a postprocessing.pkl`);
    },
    isLeaf: (v) => v instanceof PostprocessingFunctionToken,
  });
  return postprocessingFromPyValue(value, source);
}

export async function readPostprocessingPkl(file: string): Promise<PostprocessingStep[]> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new UserError(`${file}: cannot read the postprocessing file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return decodePostprocessingPkl(bytes, file);
}

/** Pickles the steps as Python's pickle.dump((pp_fns, pp_fn_kwargs)) would (protocol 2; Python reads any). */
export function encodePostprocessingPkl(steps: readonly PostprocessingStep[]): Uint8Array {
  const w = new PickleWriter();
  const labels = (v: LabelsOrRegions): void => {
    if (typeof v === 'number') return w.int(v);
    // a frozen array is a region (Python tuple); a plain one a list of labels or regions
    if (Object.isFrozen(v)) {
      w.mark();
      for (const x of v) labels(x);
      return w.tupleFromMark();
    }
    w.emptyList();
    if (v.length === 0) return;
    w.mark();
    for (const x of v) labels(x);
    w.appends();
  };
  w.mark();
  w.emptyList();
  if (steps.length) {
    w.mark();
    for (const s of steps) w.global(PP_MODULE, s.fn);
    w.appends();
  }
  w.emptyList();
  if (steps.length) {
    w.mark();
    for (const s of steps) {
      w.emptyDict();
      w.mark();
      w.string('labels_or_regions');
      labels(s.kwargs.labels_or_regions);
      if (s.kwargs.background_label !== undefined) {
        w.string('background_label');
        w.int(s.kwargs.background_label);
      }
      w.setItems();
    }
    w.appends();
  }
  w.tupleFromMark();
  return w.finish();
}

export async function writePostprocessingPkl(file: string, steps: readonly PostprocessingStep[]): Promise<void> {
  await writeFileAtomic(file, encodePostprocessingPkl(steps));
}

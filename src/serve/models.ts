// The exported models the segment page offers: folders written by `nnunet export-onnx` (DIR/model.{onnx,json} for
// one fold, DIR/fold_X/model.{onnx,json} for several) found under nnUNet_results and each --models folder.
// Symlinked folders are not walked, so an export is always where the scan found it.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { type ModelJson, ModelJsonSchema } from '../portable/model-json.js';
import type { ModelSummary } from './api-types.js';

interface ModelLocation extends ModelSummary {
  folder: string;
}

/** How deep below a root an export folder is looked for (nnUNet_results/<Dataset>/<model>/<export>/fold_X = 4). */
const MAX_DEPTH = 5;
const FOLD = /^fold_(\d+|all)$/;

async function entries(folder: string): Promise<{ dirs: string[]; files: Set<string> }> {
  const list = await readdir(folder, { withFileTypes: true }).catch(() => []);
  return { dirs: list.filter((e) => e.isDirectory()).map((e) => e.name).sort(), files: new Set(list.filter((e) => e.isFile() || e.isSymbolicLink()).map((e) => e.name)) };
}

/** The model.json in `folder` if it is valid and its ONNX file is beside it. */
async function modelJson(folder: string): Promise<ModelJson | null> {
  try {
    const parsed = ModelJsonSchema.safeParse(JSON.parse(await readFile(path.join(folder, 'model.json'), 'utf8')));
    if (!parsed.success || !(await entries(folder)).files.has(parsed.data.network.onnx_file)) return null;
    return parsed.data;
  } catch {
    return null;
  }
}

/** The export in `folder` (either layout), or null. */
async function exportAt(root: string, folder: string): Promise<ModelLocation | null> {
  const { dirs, files } = await entries(folder);
  const parts: { sub: string; json: ModelJson }[] = [];
  if (files.has('model.json')) {
    const json = await modelJson(folder);
    if (json) parts.push({ sub: '', json });
  } else {
    for (const d of dirs.filter((x) => FOLD.test(x))) {
      const json = await modelJson(path.join(folder, d));
      if (json) parts.push({ sub: `${d}/`, json });
    }
  }
  if (parts.length === 0) return null;
  const first = parts[0].json;
  const rel = path.relative(root, folder);
  const id = createHash('sha256').update(`${root}\0${rel}`).digest('hex').slice(0, 12);
  return {
    id,
    folder,
    dataset: first.dataset_name,
    configuration: first.configuration_name,
    trainer: first.trainer,
    plans: first.plans_name,
    folds: parts.map((p) => p.json.fold),
    files: parts.map((p) => ({ fold: p.json.fold, json: `${p.sub}model.json`, onnx: `${p.sub}${p.json.network.onnx_file}` })),
  };
}

async function scan(root: string, folder: string, depth: number, out: ModelLocation[]): Promise<void> {
  const found = await exportAt(root, folder);
  if (found) {
    out.push(found);
    return;
  }
  if (depth >= MAX_DEPTH) return;
  for (const d of (await entries(folder)).dirs) await scan(root, path.join(folder, d), depth + 1, out);
}

/** Every export under the roots, in root order. */
export async function findModels(roots: readonly string[]): Promise<ModelLocation[]> {
  const out: ModelLocation[] = [];
  for (const root of roots) await scan(path.resolve(root), path.resolve(root), 0, out);
  return out;
}

export function summaryOf(model: ModelLocation): ModelSummary {
  const { folder: _folder, ...summary } = model;
  return summary;
}

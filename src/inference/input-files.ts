// Raw input discovery as nnU-Net's create_lists_from_splitted_dataset_folder: files `<case>_XXXX<file_ending>`, one
// per channel, grouped by case.
import { access, readdir } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';

export interface InputCase {
  id: string;
  /** One file per channel, channel 0 first. */
  files: string[];
}

/** Every case in `folder`, sorted by id; each must have exactly channels 0..numChannels-1. */
export async function findInputCases(folder: string, fileEnding: string, numChannels: number): Promise<InputCase[]> {
  let names: string[];
  try {
    names = await readdir(folder);
  } catch {
    throw new UserError(`${folder}: input folder does not exist`);
  }
  const byCase = new Map<string, Map<number, string>>();
  for (const name of names) {
    if (!name.endsWith(fileEnding)) continue;
    const m = /^(.+)_(\d{4})$/.exec(name.slice(0, -fileEnding.length));
    if (!m) continue;
    const channels = byCase.get(m[1]) ?? new Map<number, string>();
    channels.set(Number(m[2]), path.join(folder, name));
    byCase.set(m[1], channels);
  }
  if (byCase.size === 0) throw new UserError(`${folder}: no input images named <case>_0000${fileEnding}`);
  return [...byCase.keys()].sort().map((id) => caseFiles(id, byCase.get(id) as Map<number, string>, numChannels, folder, fileEnding));
}

function caseFiles(id: string, channels: Map<number, string>, numChannels: number, folder: string, fileEnding: string): InputCase {
  const expected = Array.from({ length: numChannels }, (_, c) => c);
  const missing = expected.filter((c) => !channels.has(c));
  const extra = [...channels.keys()].filter((c) => c >= numChannels);
  if (missing.length || extra.length) {
    const name = (c: number) => `${id}_${String(c).padStart(4, '0')}${fileEnding}`;
    throw new UserError(
      `${folder}: case ${id} needs ${numChannels} channel file(s)` +
        `${missing.length ? `; missing ${missing.map(name).join(', ')}` : ''}${extra.length ? `; unexpected ${extra.map(name).join(', ')}` : ''}`,
    );
  }
  return { id, files: expected.map((c) => channels.get(c) as string) };
}

/**
 * The channel files of one case given as a file (`.../case_0000.nii.gz`: the only channel, or the first of several)
 * or as a case prefix (`.../case`, expanded to `case_0000<ending>`, `case_0001<ending>`, ...).
 */
export async function filesOfCase(input: string, fileEnding: string, numChannels: number): Promise<InputCase> {
  const base = path.basename(input);
  const isFile = base.endsWith(fileEnding);
  const stem = isFile ? base.slice(0, -fileEnding.length) : base;
  if (isFile && numChannels === 1) return { id: stem.replace(/_\d{4}$/, ''), files: [input] };
  const id = isFile ? /^(.+)_0000$/.exec(stem)?.[1] : stem;
  if (id === undefined) throw new UserError(`${input}: the model needs ${numChannels} channels; give the case prefix or <case>_0000${fileEnding}`);
  const files = Array.from({ length: numChannels }, (_, c) => path.join(path.dirname(input), `${id}_${String(c).padStart(4, '0')}${fileEnding}`));
  const missing: string[] = [];
  for (const f of files) await access(f).catch(() => missing.push(f));
  if (missing.length) throw new UserError(`${input}: missing channel file(s) ${missing.join(', ')}`);
  return { id, files };
}

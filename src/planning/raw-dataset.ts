/**
 * Case enumeration of a raw dataset folder, nnUNet_raw/DatasetXXX_Name/{imagesTr,labelsTr,imagesTs}:
 * images are <case>_XXXX<file_ending> (one file per channel), labels <case><file_ending>. Alternatively
 * dataset.json lists the files under "dataset". Every file must stay inside the dataset folder.
 */
import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';
import { numChannels, type DatasetJson } from './dataset-json.js';

export interface TestCase {
  identifier: string;
  /** One file per channel, in channel order. */
  images: string[];
}

export interface TrainingCase extends TestCase {
  label: string;
}

export interface DatasetProblem {
  /** The file (or folder) the problem is about. */
  file: string;
  message: string;
  /** Errors make the dataset unusable; warnings are reported and tolerated (as nnU-Net does). */
  severity: 'error' | 'warning';
}

export interface RawDatasetScan {
  /** Every training case identifier found (imagesTr or the "dataset" list), complete or not. */
  identifiers: string[];
  /** Cases with every channel and a label, sorted by identifier. */
  training: TrainingCase[];
  /** Complete cases of imagesTs (empty when the folder is absent). */
  test: TestCase[];
  problems: DatasetProblem[];
}

const error = (file: string, message: string): DatasetProblem => ({ file, message, severity: 'error' });
const warning = (file: string, message: string): DatasetProblem => ({ file, message, severity: 'warning' });

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const channelSuffix = (c: number): string => `_${String(c).padStart(4, '0')}`;

/** Why `id` cannot be a case identifier (it becomes part of output file names), or null. */
function badIdentifier(id: string): string | null {
  if (id === '' || id === '.' || id === '..') return `invalid case identifier "${id}"`;
  if (/[/\\\0]/.test(id)) return `case identifier "${id}" contains a path separator`;
  return null;
}

/** Whether `file` lies outside `root` (both absolute). */
function isOutside(root: string, file: string): boolean {
  const rel = path.relative(root, file);
  return rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel);
}

/** Resolves symlinks; the file must exist and lie inside `root` (already a real path). */
async function checkInside(file: string, root: string): Promise<DatasetProblem | null> {
  let real: string;
  try {
    real = await realpath(file);
  } catch {
    return null; // missing files are reported by the caller, which knows what was expected
  }
  if (isOutside(root, real)) {
    return error(file, `resolves to ${real}, outside the dataset folder ${root}`);
  }
  return null;
}

const isFile = async (file: string): Promise<boolean> => (await stat(file).catch(() => null))?.isFile() ?? false;

interface FolderScan {
  /** identifier -> channel files (undefined where missing). */
  cases: Map<string, (string | undefined)[]>;
  problems: DatasetProblem[];
}

/** Lists a folder; a missing folder is one problem (or nothing, if `optional`). */
async function listFolder(folder: string, optional: boolean): Promise<{ names: string[]; problems: DatasetProblem[] }> {
  try {
    const entries = await readdir(folder, { withFileTypes: true });
    const problems: DatasetProblem[] = [];
    const names: string[] = [];
    for (const e of entries) {
      // Hidden files, including macOS "._" resource forks, are skipped as nnU-Net does.
      if (e.name.startsWith('.')) continue;
      if (e.isDirectory()) problems.push(warning(path.join(folder, e.name), 'ignored: a folder'));
      else names.push(e.name);
    }
    return { names: names.sort(), problems };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { names: [], problems: optional ? [] : [error(folder, 'folder not found')] };
    if (code === 'ENOTDIR') return { names: [], problems: [error(folder, 'is not a folder')] };
    throw err;
  }
}

/** Groups <case>_XXXX<ending> files of an image folder by case; flags stray names and missing channels. */
async function scanImageFolder(folder: string, fileEnding: string, channels: number, optional: boolean): Promise<FolderScan> {
  const { names, problems } = await listFolder(folder, optional);
  const pattern = new RegExp(`^(.+)_(\\d{4})${escapeRegExp(fileEnding)}$`);
  const cases = new Map<string, (string | undefined)[]>();
  for (const name of names) {
    const file = path.join(folder, name);
    if (!name.endsWith(fileEnding)) {
      problems.push(warning(file, `ignored: does not end in ${fileEnding}`));
      continue;
    }
    const m = pattern.exec(name);
    if (!m) {
      problems.push(error(file, `image file names must be <case>_XXXX${fileEnding} (XXXX = 4-digit channel index)`));
      continue;
    }
    const channel = Number(m[2]);
    if (channel >= channels) {
      problems.push(error(file, `extra channel ${m[2]}: dataset.json declares ${channels} channel(s), ${channelSuffix(0).slice(1)}-${channelSuffix(channels - 1).slice(1)}`));
      continue;
    }
    const files = cases.get(m[1]) ?? new Array<string | undefined>(channels).fill(undefined);
    files[channel] = file;
    cases.set(m[1], files);
  }
  for (const [id, files] of cases) {
    files.forEach((f, c) => {
      if (f === undefined) problems.push(error(path.join(folder, `${id}${channelSuffix(c)}${fileEnding}`), `missing channel ${c} of case ${id}`));
    });
  }
  return { cases, problems };
}

/** Complete cases of a scan, sorted by identifier. */
function completeCases(scan: FolderScan): TestCase[] {
  return [...scan.cases.entries()]
    .filter(([, files]) => files.every((f) => f !== undefined))
    .map(([identifier, files]) => ({ identifier, images: files as string[] }))
    .sort((a, b) => (a.identifier < b.identifier ? -1 : a.identifier > b.identifier ? 1 : 0));
}

/** The imagesTr/labelsTr/imagesTs layout. */
async function scanFolders(datasetDir: string, json: DatasetJson): Promise<RawDatasetScan> {
  const ending = json.file_ending;
  const channels = numChannels(json);
  const imagesTr = await scanImageFolder(path.join(datasetDir, 'imagesTr'), ending, channels, false);
  const imagesTs = await scanImageFolder(path.join(datasetDir, 'imagesTs'), ending, channels, true);
  const labelsDir = path.join(datasetDir, 'labelsTr');
  const labelList = await listFolder(labelsDir, false);
  const problems = [...imagesTr.problems, ...labelList.problems];
  const labels = new Map<string, string>();
  for (const name of labelList.names) {
    const file = path.join(labelsDir, name);
    if (!name.endsWith(ending)) problems.push(warning(file, `ignored: does not end in ${ending}`));
    else labels.set(name.slice(0, -ending.length), file);
  }
  for (const [id, file] of labels) {
    if (!imagesTr.cases.has(id)) {
      problems.push(error(file, `label without images: no ${path.join(datasetDir, 'imagesTr', `${id}${channelSuffix(0)}${ending}`)}`));
    }
  }
  const training: TrainingCase[] = [];
  for (const c of completeCases(imagesTr)) {
    const label = labels.get(c.identifier);
    if (label) training.push({ ...c, label });
    else problems.push(error(path.join(labelsDir, `${c.identifier}${ending}`), `missing label of case ${c.identifier}`));
  }
  return {
    identifiers: [...imagesTr.cases.keys()].sort(),
    training,
    test: completeCases(imagesTs),
    problems: [...problems, ...imagesTs.problems],
  };
}

/** The explicit "dataset" case list of dataset.json, paths relative to the dataset folder. */
async function scanListed(datasetDir: string, json: DatasetJson, jsonFile: string): Promise<RawDatasetScan> {
  const listed = json.dataset ?? {};
  const channels = numChannels(json);
  const problems: DatasetProblem[] = [];
  const training: TrainingCase[] = [];
  for (const [identifier, entry] of Object.entries(listed).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    let ok = true;
    const resolve = (rel: string): string | null => {
      if (path.isAbsolute(rel)) {
        problems.push(error(rel, `case ${identifier}: absolute paths are not allowed in ${jsonFile}; give paths relative to the dataset folder`));
        return null;
      }
      const file = path.resolve(datasetDir, rel);
      if (isOutside(datasetDir, file)) {
        problems.push(error(file, `case ${identifier}: "${rel}" in ${jsonFile} points outside the dataset folder`));
        return null;
      }
      if (!file.endsWith(json.file_ending)) {
        problems.push(error(file, `case ${identifier}: does not end in ${json.file_ending}`));
        return null;
      }
      return file;
    };
    const idProblem = badIdentifier(identifier);
    if (idProblem) {
      problems.push(error(jsonFile, idProblem));
      ok = false;
    }
    if (entry.images.length !== channels) {
      problems.push(error(jsonFile, `case ${identifier} lists ${entry.images.length} image(s), dataset.json declares ${channels} channel(s)`));
      ok = false;
    }
    const images = entry.images.map(resolve);
    const label = resolve(entry.label);
    if (!ok || label === null || images.some((f) => f === null)) continue;
    const missing: string[] = [];
    for (const f of [...(images as string[]), label]) if (!(await isFile(f))) missing.push(f);
    for (const f of missing) problems.push(error(f, `case ${identifier}: file not found`));
    if (missing.length === 0) training.push({ identifier, images: images as string[], label });
  }
  return { identifiers: Object.keys(listed).sort(), training, test: [], problems };
}

/**
 * Enumerates the training (and imagesTs) cases of `datasetDir` and collects every structural problem:
 * missing folders, stray names, missing or extra channels, missing labels, labels without images, and paths
 * (listed ones or symlink targets) outside the dataset folder. Cases with problems are left out of the lists.
 */
export async function scanRawDataset(datasetDir: string, json: DatasetJson): Promise<RawDatasetScan> {
  const dir = path.resolve(datasetDir);
  const root = await realpath(dir).catch(() => {
    throw new UserError(`${dir}: dataset folder not found`);
  });
  const jsonFile = path.join(dir, 'dataset.json');
  const scan = json.dataset ? await scanListed(dir, json, jsonFile) : await scanFolders(dir, json);
  const escapes = new Map<string, DatasetProblem>();
  const allFiles = [...scan.training.flatMap((c) => [...c.images, c.label]), ...scan.test.flatMap((c) => c.images)];
  await Promise.all(
    allFiles.map(async (f) => {
      const p = await checkInside(f, root);
      if (p) escapes.set(f, p);
    }),
  );
  const safe = (files: string[]): boolean => files.every((f) => !escapes.has(f));
  return {
    identifiers: scan.identifiers,
    training: scan.training.filter((c) => safe([...c.images, c.label])),
    test: scan.test.filter((c) => safe(c.images)),
    problems: [...scan.problems, ...escapes.values()],
  };
}

/** Renders problems one per line, errors first: "error: <file>: <message>". */
export function formatProblems(problems: readonly DatasetProblem[]): string {
  return [...problems]
    .sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1))
    .map((p) => `${p.severity}: ${p.file}: ${p.message}`)
    .join('\n');
}

/** The training cases of `datasetDir`; throws a UserError listing every structural error. */
export async function listTrainingCases(datasetDir: string, json: DatasetJson): Promise<TrainingCase[]> {
  const scan = await scanRawDataset(datasetDir, json);
  const errors = scan.problems.filter((p) => p.severity === 'error');
  if (errors.length > 0) {
    throw new UserError(`${path.resolve(datasetDir)}: ${errors.length} problem(s) in the raw dataset:\n${formatProblems(errors)}`);
  }
  if (scan.training.length === 0) throw new UserError(`${path.resolve(datasetDir)}: no training cases found`);
  return scan.training;
}

/**
 * The cases of an image folder to predict (imagesTs or any input folder) named <case>_XXXX<fileEnding>;
 * throws a UserError listing stray names and missing channels.
 */
export async function listImageFolderCases(folder: string, fileEnding: string, channels: number): Promise<TestCase[]> {
  const scan = await scanImageFolder(path.resolve(folder), fileEnding, channels, false);
  const errors = scan.problems.filter((p) => p.severity === 'error');
  if (errors.length > 0) throw new UserError(`${path.resolve(folder)}: ${errors.length} problem(s):\n${formatProblems(errors)}`);
  return completeCases(scan);
}

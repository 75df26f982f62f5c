// Real data in tests and benches: ../shared is read-only and large, so cases are hard-linked (no copy on the same
// file system), copied where linking fails. Symlinks would not do: the dataset layer refuses links leaving a dataset.
import { copyFile, link, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';

export async function linkOrCopy(from: string, to: string): Promise<void> {
  await link(from, to).catch(() => copyFile(from, to));
}

/** The raw dataset folder `source` (imagesTr, labelsTr, dataset.json) placed under `rawRoot` with the same name. */
export async function linkRawDataset(source: string, rawRoot: string): Promise<void> {
  const target = path.join(rawRoot, path.basename(source));
  for (const sub of ['imagesTr', 'labelsTr']) {
    await mkdir(path.join(target, sub), { recursive: true });
    for (const f of await readdir(path.join(source, sub))) await linkOrCopy(path.join(source, sub, f), path.join(target, sub, f));
  }
  await copyFile(path.join(source, 'dataset.json'), path.join(target, 'dataset.json'));
}

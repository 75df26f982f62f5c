/** Plain-text Dice table of a summary for the console: one column per class, the case mean, the foreground mean. */
import { basename } from 'node:path';
import type { Summary } from './summary.js';

export type DiceTableOptions = {
  /** Class key ("1", "(1, 2)") -> display name, e.g. from dataset.json labels. */
  classNames?: Record<string, string>;
  /** Add one row per case (named by the prediction file) above the mean row. */
  perCase?: boolean;
  /** Ending stripped from file names in per-case rows, e.g. ".nii.gz". */
  fileEnding?: string;
  digits?: number;
};

export function formatDiceTable(summary: Summary, options: DiceTableOptions = {}): string {
  const digits = options.digits ?? 4;
  const fmt = (v: number) => (Number.isNaN(v) ? 'nan' : v.toFixed(digits));
  const keys = Object.keys(summary.mean);
  const header = ['case', ...keys.map((k) => (options.classNames?.[k] ? `${k} (${options.classNames[k]})` : k))];
  const rows: string[][] = [];
  if (options.perCase) {
    for (const c of summary.metric_per_case) {
      let name = basename(c.prediction_file);
      if (options.fileEnding && name.endsWith(options.fileEnding)) name = name.slice(0, -options.fileEnding.length);
      rows.push([name, ...keys.map((k) => fmt(c.metrics[k].Dice))]);
    }
  }
  rows.push([`mean (${summary.metric_per_case.length} cases)`, ...keys.map((k) => fmt(summary.mean[k].Dice))]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  // first column left-aligned (names), numbers right-aligned
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [line(header), ...rows.map(line), `foreground mean Dice: ${fmt(summary.foreground_mean.Dice)}`].join('\n');
}

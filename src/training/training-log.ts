// training_log_<timestamp>.txt: every line also goes to the console, prefixed with a timestamp like nnU-Net's.
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { asWriteFailure } from '../atomic-write.js';

export class TrainingLog {
  readonly file: string;
  constructor(folder: string, private readonly echo: (line: string) => void = (l) => console.log(l)) {
    mkdirSync(folder, { recursive: true });
    const d = new Date();
    const stamp = `${d.getFullYear()}_${d.getMonth() + 1}_${d.getDate()}_${String(d.getHours()).padStart(2, '0')}_${String(d.getMinutes()).padStart(2, '0')}_${String(d.getSeconds()).padStart(2, '0')}`;
    this.file = path.join(folder, `training_log_${stamp}.txt`);
  }
  print(message: string): void {
    const line = `${new Date().toISOString().replace('T', ' ').slice(0, 23)}: ${message}`;
    try {
      appendFileSync(this.file, `${line}\n`);
    } catch (err) {
      throw asWriteFailure(err, this.file);
    }
    this.echo(line);
  }
}

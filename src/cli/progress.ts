// Progress bars for long work (cli-progress); plain lines when stderr is not a terminal, so logs stay greppable.
import cliProgress from 'cli-progress';

export interface ProgressReporter {
  update(done: number, total: number, label?: string): void;
  stop(): void;
}

export function progressBar(title: string, enabled = true): ProgressReporter {
  if (!enabled) return { update() {}, stop() {} };
  if (!process.stderr.isTTY) {
    let lastPrinted = -1;
    let lastDone = 0;
    return {
      update(done, total, label) {
        const pct = Math.floor((100 * done) / Math.max(total, 1));
        // a count that starts over (the next configuration) is reported from its start
        if (done < lastDone) lastPrinted = -1;
        lastDone = done;
        if (pct >= lastPrinted + 10 || done === total) {
          lastPrinted = pct;
          console.error(`${title}${label ? ` ${label}` : ''}: ${done}/${total}`);
        }
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar({ format: `${title} {label} |{bar}| {value}/{total} | {duration_formatted} elapsed, ETA {eta_formatted}`, hideCursor: true, stream: process.stderr }, cliProgress.Presets.shades_classic);
  let started = false;
  return {
    update(done, total, label = '') {
      if (!started) {
        bar.start(total, done, { label });
        started = true;
      } else {
        bar.setTotal(total);
        bar.update(done, { label });
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

/**
 * progress.png as nnU-Net draws it (nnunet_logger.py plot_progress_png): three stacked panels,
 * (1) train loss (blue), val loss (red), pseudo Dice (green, dotted) and its EMA (green, solid) on a second
 * y axis, (2) epoch duration, (3) learning rate. Rendered with chart.js on @napi-rs/canvas, written atomically.
 */
import { createCanvas, type SKRSContext2D } from '@napi-rs/canvas';
import { Chart, registerables, type ChartConfiguration, type Plugin } from 'chart.js';
import { writeFileAtomic } from '../atomic-write.js';
import type { MetricLoggerState } from './metric-logger.js';

Chart.register(...registerables);

export type ProgressPlotOptions = {
  /** Image width in pixels; nnU-Net's figure is 30 x 54 inches, so the height is width * 1.8. */
  width?: number;
};

const whiteBackground: Plugin<'line'> = {
  id: 'whiteBackground',
  beforeDraw(chart) {
    const ctx = chart.ctx;
    ctx.save();
    ctx.globalCompositeOperation = 'destination-over';
    ctx.fillStyle = 'white';
    ctx.fillRect(0, 0, chart.width, chart.height);
    ctx.restore();
  },
};

type Series = { label: string; data: number[]; color: string; dotted?: boolean; rightAxis?: boolean };

type Panel = { series: Series[]; yTitle: string; rightTitle?: string; yMinZero?: boolean };

/** Draw one panel on its own canvas (chart.js owns the whole canvas), copy it to `target` at `top`. */
function drawPanel(target: SKRSContext2D, top: number, width: number, height: number, epochs: number[], p: Panel): void {
  const { series, yTitle, rightTitle, yMinZero } = p;
  const canvas = createCanvas(width, height);
  const font = { size: Math.max(10, Math.round(width / 60)) };
  const config: ChartConfiguration<'line'> = {
    type: 'line',
    data: {
      labels: epochs,
      datasets: series.map((s) => ({
        label: s.label,
        data: s.data,
        borderColor: s.color,
        backgroundColor: s.color,
        borderWidth: s.dotted ? 3 : 4,
        borderDash: s.dotted ? [3, 6] : [],
        pointRadius: 0,
        yAxisID: s.rightAxis ? 'y1' : 'y',
      })),
    },
    options: {
      responsive: false,
      animation: false,
      devicePixelRatio: 1,
      plugins: { legend: { position: 'top', align: 'start', labels: { font } } },
      scales: {
        x: { title: { display: true, text: 'epoch', font }, ticks: { font, maxRotation: 0, maxTicksLimit: 20 } },
        y: { title: { display: true, text: yTitle, font }, ticks: { font }, ...(yMinZero ? { min: 0 } : {}) },
        ...(rightTitle
          ? {
              y1: {
                position: 'right' as const,
                title: { display: true, text: rightTitle, font },
                ticks: { font },
                grid: { drawOnChartArea: false },
              },
            }
          : {}),
      },
    },
    plugins: [whiteBackground],
  };
  // @napi-rs/canvas implements the 2D context API chart.js draws with; only the DOM typing differs
  const chart = new Chart(canvas.getContext('2d') as unknown as CanvasRenderingContext2D, config);
  target.drawImage(canvas, 0, top);
  chart.destroy(); // clears the panel canvas, so only after copying it
}

/** Render the three panels of progress.png from the logger's per-epoch lists (epochs every list holds). */
export function renderProgressPlot(log: MetricLoggerState, options: ProgressPlotOptions = {}): Promise<Buffer> {
  const width = options.width ?? 1200;
  const panelHeight = Math.round((width * 1.8) / 3);
  const n = Math.min(...Object.values(log).map((l: unknown[]) => l.length));
  const epochs = Array.from({ length: n }, (_, i) => i);
  const first = <T>(xs: T[]) => xs.slice(0, n);
  const durations = epochs.map((i) => log.epoch_end_timestamps[i] - log.epoch_start_timestamps[i]);

  const panels: Panel[] = [
    {
      series: [
        { label: 'loss_tr', data: first(log.train_losses), color: 'blue' },
        { label: 'loss_val', data: first(log.val_losses), color: 'red' },
        { label: 'pseudo dice', data: first(log.mean_fg_dice), color: 'green', dotted: true, rightAxis: true },
        { label: 'pseudo dice (mov. avg.)', data: first(log.ema_fg_dice), color: 'green', rightAxis: true },
      ],
      yTitle: 'loss',
      rightTitle: 'pseudo dice',
    },
    { series: [{ label: 'epoch duration', data: durations, color: 'blue' }], yTitle: 'time [s]', yMinZero: true },
    { series: [{ label: 'learning rate', data: first(log.lrs), color: 'blue' }], yTitle: 'learning rate' },
  ];
  const out = createCanvas(width, panelHeight * panels.length);
  const ctx = out.getContext('2d');
  panels.forEach((p, i) => drawPanel(ctx, i * panelHeight, width, panelHeight, epochs, p));
  return out.encode('png');
}

/** Write `<file>` (normally fold_X/progress.png) atomically. */
export async function writeProgressPlot(log: MetricLoggerState, file: string, options: ProgressPlotOptions = {}): Promise<void> {
  await writeFileAtomic(file, await renderProgressPlot(log, options));
}

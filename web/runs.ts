// The runs page: every training under nnUNet_results, live over server-sent events, and the curves, early-stopping
// state and checkpoints of the selected run.
import { Chart, registerables, type ChartDataset } from 'chart.js';
import type { RunDetail, RunSummary } from '../src/serve/api-types.js';

Chart.register(...registerables);

const tbody = document.getElementById('runs') as HTMLTableSectionElement;
const detailBox = document.getElementById('detail') as HTMLDivElement;
const liveNote = document.getElementById('live') as HTMLParagraphElement;
let selected: string | null = new URLSearchParams(location.search).get('run');
let shownEpochs = -1;
const charts: Chart[] = [];

const fmt = (v: number | null, digits = 4) => (v === null ? '–' : v.toFixed(digits));

function cell(row: HTMLTableRowElement, text: string, testid?: string, className?: string): void {
  const td = row.insertCell();
  td.textContent = text;
  if (testid) td.dataset.testid = testid;
  if (className) td.className = className;
}

function renderRuns(runs: RunSummary[]): void {
  tbody.replaceChildren();
  if (runs.length === 0) {
    const row = tbody.insertRow();
    cell(row, 'No trainings under nnUNet_results yet.');
    row.cells[0].colSpan = 8;
  }
  for (const r of runs) {
    const row = tbody.insertRow();
    row.dataset.testid = 'run-row';
    row.dataset.runId = r.id;
    if (r.id === selected) row.classList.add('selected');
    cell(row, r.dataset);
    cell(row, r.configuration);
    cell(row, r.trainer);
    cell(row, r.plans);
    cell(row, String(r.fold), 'run-fold');
    cell(row, String(r.epochs), 'run-epochs');
    cell(row, fmt(r.best_ema), 'run-best-ema');
    cell(row, r.state.replace('_', ' '), 'run-state', `state-${r.state}`);
    row.addEventListener('click', () => {
      selected = r.id;
      history.replaceState(null, '', `?run=${encodeURIComponent(r.id)}`);
      shownEpochs = -1;
      renderRuns(runs);
      void showDetail(r);
    });
  }
  selected ??= runs[0]?.id ?? null;
  const current = runs.find((r) => r.id === selected);
  // the charts are redrawn when the selected run gained an epoch (or changed state)
  if (current && current.epochs !== shownEpochs) void showDetail(current);
}

function lineChart(parent: HTMLElement, title: string, labels: number[], datasets: ChartDataset<'line', (number | null)[]>[], logScale = false): void {
  const box = document.createElement('div');
  box.className = 'chart';
  const canvas = document.createElement('canvas');
  box.append(canvas);
  parent.append(box);
  charts.push(
    new Chart(canvas, {
      type: 'line',
      data: { labels, datasets: datasets.map((d) => ({ ...d, spanGaps: true })) },
      options: {
        animation: false,
        maintainAspectRatio: false,
        plugins: { title: { display: true, text: title } },
        scales: { x: { title: { display: true, text: 'epoch' } }, y: logScale ? { type: 'logarithmic' } : {} },
      },
    }),
  );
}

function facts(title: string, rows: [string, string][]): HTMLElement {
  const section = document.createElement('section');
  const h = document.createElement('h3');
  h.textContent = title;
  section.append(h);
  for (const [k, v] of rows) {
    const p = document.createElement('div');
    p.textContent = k ? `${k}: ${v}` : v;
    section.append(p);
  }
  return section;
}

async function showDetail(run: RunSummary): Promise<void> {
  shownEpochs = run.epochs;
  const response = await fetch(`/api/runs/${encodeURIComponent(run.id)}`);
  if (!response.ok || run.id !== selected) return;
  const d = (await response.json()) as RunDetail;
  for (const c of charts.splice(0)) c.destroy();
  const title = document.createElement('h2');
  title.textContent = `${d.dataset} · ${d.configuration} · fold ${d.fold} · ${d.trainer}__${d.plans}`;
  const grid = document.createElement('div');
  grid.className = 'charts';
  const info = document.createElement('div');
  info.className = 'facts';
  detailBox.replaceChildren(title, info, grid);
  const c = d.curves;
  const colors = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];
  const perClass = (c.pseudo_dice[0] ?? []).map((_, k) => ({ label: `pseudo Dice ${k + 1}`, data: c.pseudo_dice.map((e) => e[k] ?? null), borderColor: colors[(k + 2) % colors.length], borderDash: [4, 3], pointRadius: 0 }));
  lineChart(grid, 'Loss', c.epoch, [
    { label: 'train', data: c.train_loss, borderColor: colors[0], pointRadius: 1 },
    { label: 'validation', data: c.val_loss, borderColor: colors[1], pointRadius: 1 },
  ]);
  lineChart(grid, 'Pseudo Dice', c.epoch, [{ label: 'EMA', data: c.ema_fg_dice, borderColor: colors[0], pointRadius: 1 }, { label: 'mean foreground', data: c.mean_fg_dice, borderColor: colors[1], pointRadius: 1 }, ...perClass]);
  lineChart(grid, 'Learning rate', c.epoch, [{ label: 'LR', data: c.lr, borderColor: colors[2], pointRadius: 1 }]);
  lineChart(grid, 'Epoch time (s)', c.epoch, [{ label: 'seconds', data: c.epoch_time, borderColor: colors[3], pointRadius: 1 }]);
  info.append(facts('Run', [['state', d.state.replace('_', ' ')], ['epochs', String(d.epochs)], ['best EMA pseudo Dice', `${fmt(d.best_ema)}${d.best_epoch === null ? '' : ` (epoch ${d.best_epoch})`}`]]));
  const es = d.early_stopping;
  info.append(
    facts(
      'Early stopping',
      es
        ? [['metric', es.metric], ['best', `${fmt(es.best)}${es.best_epoch === null ? '' : ` (epoch ${es.best_epoch})`}`], ['counter', `${es.counter}${es.patience === null ? '' : ` of patience ${es.patience}`}`], ['stopped', es.stopped ? 'yes' : 'no']]
        : [['', 'off (or no checkpoint yet)']],
    ),
  );
  const ckpt = facts('Checkpoints', d.checkpoints.length ? [] : [['', 'none yet']]);
  for (const k of d.checkpoints) {
    const a = document.createElement('a');
    a.href = `/api/runs/${encodeURIComponent(d.id)}/files/${encodeURIComponent(k.name)}`;
    a.textContent = `${k.name} (epoch ${k.epoch ?? '?'}, ${(k.bytes / 2 ** 20).toFixed(1)} MiB, ${new Date(k.modified).toLocaleString()})`;
    const div = document.createElement('div');
    div.append(a);
    ckpt.append(div);
  }
  info.append(ckpt);
}

function connect(): void {
  const events = new EventSource('/api/events');
  events.addEventListener('runs', (e) => {
    liveNote.textContent = `live · updated ${new Date().toLocaleTimeString()}`;
    renderRuns(JSON.parse((e as MessageEvent<string>).data) as RunSummary[]);
  });
  events.addEventListener('error', () => {
    liveNote.textContent = 'connection lost: retrying…';
  });
}

connect();

/**
 * `<dir>/report.html`: one self-contained page (no network, no side files)
 * summarising a pipeline folder. Every chart is a Vega-Lite spec rendered to
 * SVG by src/util/charts.ts and embedded as a data: URI image (each SVG
 * stays isolated, so clip-path ids of different charts cannot collide);
 * every picture is a PNG data: URI.
 *
 * It renders from whatever stages completed: each section reads its stage's
 * files and, when they are missing or unreadable, says so instead.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chartToSvg, type ChartSpec } from '../util/charts.js';
import { writeFileAtomic, exists } from '../util/atomic.js';
import { CellganError } from '../util/errors.js';
import { decodeImages, encodeGridPng } from '../data/image.js';
import type { DatasetItem, SplitFile } from '../data/types.js';
import { readJsonl } from '../data/jsonl.js';
import { readState, type PipelineState, type StageName, STAGE_NAMES } from './state.js';
import { VERSION } from '../version.js';

export const REPORT_FILE = 'report.html';

export interface RenderReportOptions {
  /** The pipeline folder. */
  dir: string;
  /** Where to write (default `<dir>/report.html`). */
  out?: string;
  /** Images per grid (default 16). */
  gridCount?: number;
}

export interface RenderReportResult {
  file: string;
  /** Sections rendered from data, and those that said "not available". */
  sections: { id: string; available: boolean }[];
  charts: number;
  images: number;
}

// ---------------------------------------------------------------- helpers

function esc(s: unknown): string {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function fmt(x: unknown, digits = 3): string {
  if (typeof x !== 'number' || !Number.isFinite(x)) return x === null || x === undefined ? '–' : esc(x);
  return Number.isInteger(x) ? String(x) : x.toFixed(digits);
}

/** Always `digits` decimals (fmt prints integers bare), for columns read side by side. */
function fixed(x: unknown, digits: number): string {
  return typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : fmt(x);
}

function pct(x: unknown): string {
  return typeof x === 'number' && Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : '–';
}

function ci(c: unknown): string {
  return Array.isArray(c) && c.length === 2 ? `[${pct(c[0])}, ${pct(c[1])}]` : '–';
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try { return JSON.parse(await fs.readFile(file, 'utf8')) as T; } catch { return undefined; }
}

/** The first numeric field among `names` (stats files name things slightly differently across versions). */
function num(row: Record<string, unknown>, ...names: string[]): number | undefined {
  for (const n of names) {
    const v = row[n];
    if (typeof v === 'number' && Number.isFinite(v)) return v;
  }
  return undefined;
}

class Page {
  charts = 0;
  images = 0;
  sections: { id: string; available: boolean }[] = [];

  async chart(name: string, spec: ChartSpec, alt: string): Promise<string> {
    const svg = await chartToSvg({ background: 'white', ...spec } as ChartSpec);
    this.charts++;
    return `<figure class="chart" data-chart="${esc(name)}"><img alt="${esc(alt)}" src="data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}"></figure>`;
  }

  /** `width`: display width in CSS pixels (small grids are shown enlarged, pixelated). */
  png(bytes: Buffer, alt: string, width?: number, cls = 'grid'): string {
    this.images++;
    return `<img class="${cls}" alt="${esc(alt)}"${width ? ` width="${width}"` : ''} src="data:image/png;base64,${bytes.toString('base64')}">`;
  }
}

function missing(what: string, why: string): string {
  return `<p class="missing">Not available: ${esc(what)} (${esc(why)}).</p>`;
}

function stageWhy(state: PipelineState | undefined, stage: StageName): string {
  const rec = state?.stages[stage];
  if (!rec) return `the ${stage} stage has not run`;
  if (rec.status === 'done') return `the ${stage} stage's output could not be read`;
  return `the ${stage} stage is ${rec.status}${rec.error ? `: ${rec.error}` : ''}`;
}

// ---------------------------------------------------------------- sections

function overview(state: PipelineState | undefined): string {
  if (!state) return missing('pipeline state', 'no pipeline.json in this folder');
  const rows = STAGE_NAMES.filter((s) => state.stages[s]).map((s) => {
    const r = state.stages[s]!;
    return `<tr><td>${s}</td><td class="status-${esc(r.status)}">${esc(r.status)}</td><td>${fmt(r.seconds, 1)}</td><td>${r.attempts}</td><td>${esc(r.finishedAt ?? r.startedAt)}</td><td>${esc(r.error ?? '')}</td></tr>`;
  }).join('');
  // Nulls (options not set) are left out; long JSON values wrap (CSS).
  const opts = Object.entries(state.options).filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => `<tr><th>${esc(k)}</th><td><code>${esc(typeof v === 'string' ? v : JSON.stringify(v))}</code></td></tr>`).join('');
  return `<h2 id="overview">Run</h2>
<table class="kv">${opts}</table>
<h3>Stages</h3>
<table><thead><tr><th>stage</th><th>status</th><th>seconds</th><th>attempts</th><th>finished</th><th>error</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/**
 * Where the numbers came from: the backend, versions and machine recorded
 * in the (first) training run's options.json; without one, this machine's.
 */
async function environment(dir: string): Promise<string> {
  const runs = await trainRuns(dir);
  const o = runs.length ? await readJson<{ backend?: { name?: string; package?: string; tfjsVersion?: string }; versions?: Record<string, string>; machine?: { cpu?: string; cores?: number; platform?: string } }>(path.join(runs[0].dir, 'options.json')) : undefined;
  const rows: [string, string][] = [];
  if (o?.backend?.name) rows.push(['backend (training)', `${o.backend.name} (${o.backend.package ?? '?'}, tfjs ${o.backend.tfjsVersion ?? '?'})`]);
  for (const [k, v] of Object.entries(o?.versions ?? {})) rows.push([`${k} version (training)`, String(v)]);
  const m = o?.machine;
  if (m?.cpu) rows.push(['CPU (training)', `${m.cpu} × ${m.cores ?? '?'} (${m.platform ?? '?'})`]);
  else {
    const cpus = os.cpus();
    rows.push(['CPU (this report)', `${cpus[0]?.model?.trim() ?? 'unknown'} × ${cpus.length} (${process.platform}-${process.arch})`]);
  }
  rows.push(['report written with', `cellgan ${VERSION}, Node ${process.version}`]);
  return `<h3 id="environment">Environment</h3><table class="kv">${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>`;
}

interface InspectLike {
  classes?: Record<string, number>;
  total?: number;
  unreadable?: { file: string; reason: string }[];
  duplicates?: string[][];
  conflicts?: { files: string[]; classes: string[] }[];
  sizes?: unknown;
  formats?: Record<string, number>;
}

async function datasetSection(page: Page, dir: string, state: PipelineState | undefined): Promise<string> {
  const report = await readJson<InspectLike>(path.join(dir, 'inspect', 'inspect.json'));
  const split = await readJson<SplitFile>(path.join(dir, 'split', 'split.json'));
  page.sections.push({ id: 'dataset', available: Boolean(report) });
  let html = '<h2 id="dataset">Dataset</h2>';
  if (!report?.classes) {
    html += missing('dataset summary', stageWhy(state, 'inspect'));
  } else {
    const counts = Object.entries(report.classes);
    const total = counts.reduce((a, [, n]) => a + n, 0);
    const dups = report.duplicates ?? [];
    const conflicts = report.conflicts ?? [];
    const unreadable = report.unreadable ?? [];
    html += `<p>${total} images in ${counts.length} classes; ${dups.length} group(s) of exact duplicates; ${conflicts.length} conflict(s) (duplicates with different labels); ${unreadable.length} unreadable file(s).</p>`;
    html += await page.chart('class-counts', {
      title: 'Images per class', width: 420, height: 180,
      data: { values: counts.map(([cls, n]) => ({ class: cls, images: n })) },
      mark: 'bar',
      encoding: { x: { field: 'class', type: 'nominal', sort: null }, y: { field: 'images', type: 'quantitative' } },
    }, 'bar chart of images per class');
    html += `<table><thead><tr><th>class</th><th>images</th></tr></thead><tbody>${counts.map(([c, n]) => `<tr><td>${esc(c)}</td><td>${n}</td></tr>`).join('')}</tbody></table>`;
    if (dups.length) html += `<h3>Duplicates</h3><ul>${dups.slice(0, 50).map((g) => `<li>${g.map(esc).join(' = ')}</li>`).join('')}${dups.length > 50 ? `<li>… ${dups.length - 50} more</li>` : ''}</ul>`;
    if (conflicts.length) html += `<h3>Conflicts</h3><ul>${conflicts.map((c) => `<li>${c.files.map(esc).join(' = ')} labelled ${c.classes.map(esc).join(' / ')}</li>`).join('')}</ul>`;
    if (unreadable.length) html += `<h3>Unreadable</h3><ul>${unreadable.slice(0, 50).map((u) => `<li>${esc(u.file)}: ${esc(u.reason)}</li>`).join('')}</ul>`;
  }
  html += '<h3>Split</h3>';
  if (!split?.splits) {
    html += missing('split', stageWhy(state, 'split'));
  } else {
    const rows: { class: string; split: string; images: number }[] = [];
    const byClass = new Map<string, Record<string, number>>();
    for (const name of ['train', 'val', 'test'] as const) {
      for (const f of split.splits[name] ?? []) {
        const cls = classOfFile(f);
        const rec = byClass.get(cls) ?? { train: 0, val: 0, test: 0 };
        rec[name]++;
        byClass.set(cls, rec);
      }
    }
    for (const [cls, r] of [...byClass].sort()) for (const s of ['train', 'val', 'test']) rows.push({ class: cls, split: s, images: r[s] });
    html += `<p>Seed ${esc(split.seed)}; ${split.splits.train.length} train, ${split.splits.val.length} val, ${split.splits.test.length} test; ${split.excluded.length} excluded.</p>`;
    html += `<table><thead><tr><th>class</th><th>train</th><th>val</th><th>test</th></tr></thead><tbody>${[...byClass].sort().map(([c, r]) => `<tr><td>${esc(c)}</td><td>${r.train}</td><td>${r.val}</td><td>${r.test}</td></tr>`).join('')}</tbody></table>`;
    if (split.excluded.length) html += `<ul>${split.excluded.slice(0, 20).map((e) => `<li>excluded ${esc(e.file)}: ${esc(e.reason)}</li>`).join('')}</ul>`;
  }
  return html;
}

/** A split entry's class: the pipeline records the class of each file in split/classes.json; else the ImageFolder folder. */
let splitClasses: Record<string, string> | undefined;
function classOfFile(file: string): string {
  return splitClasses?.[file] ?? file.split('/')[0];
}

interface ManifestRow { file: string; class: string; run?: string; checkpoint?: unknown; seed?: unknown; index?: number }

async function samplesSection(page: Page, dir: string, state: PipelineState | undefined, gridCount: number): Promise<string> {
  let html = '<h2 id="samples">Samples: real and synthetic</h2>';
  const manifest = await readJsonl<ManifestRow>(path.join(dir, 'generate', 'manifest.jsonl'));
  const split = await readJson<SplitFile>(path.join(dir, 'split', 'split.json'));
  const dataRoot = typeof state?.options.dataRoot === 'string' ? state.options.dataRoot : undefined;
  const size = typeof state?.options.size === 'number' ? state.options.size : 64;
  page.sections.push({ id: 'samples', available: Boolean(manifest?.length) });
  if (!manifest?.length) html += missing('synthetic images', stageWhy(state, 'generate'));
  const classes = [...new Set([
    ...(manifest ?? []).map((m) => m.class),
    ...(split ? split.splits.train.map(classOfFile) : []),
  ])].sort();
  if (!classes.length) return html + missing('real images', stageWhy(state, 'split'));
  html += `<p>Left: real training images; right: synthetic images from the generator (first ${gridCount} per class), at ${size}×${size}.</p><div class="samples">`;
  for (const cls of classes) {
    html += `<div class="sample-row"><h3>${esc(cls)}</h3><div class="pair">`;
    const realFiles = split && dataRoot ? split.splits.train.filter((f) => classOfFile(f) === cls).slice(0, gridCount) : [];
    html += `<figure><figcaption>real</figcaption>${await gridOf(page, realFiles.map((f) => ({ file: f, abs: path.join(dataRoot ?? '', f), label: cls })), size, `real ${cls}`) ?? missing('real images', 'no training split or data folder')}</figure>`;
    const synth = (manifest ?? []).filter((m) => m.class === cls).slice(0, gridCount);
    html += `<figure><figcaption>synthetic</figcaption>${await gridOf(page, synth.map((m) => ({ file: m.file, abs: path.join(dir, 'generate', m.file), label: cls })), size, `synthetic ${cls}`) ?? missing('synthetic images', manifest ? 'none generated for this class' : stageWhy(state, 'generate'))}</figure>`;
    html += '</div></div>';
  }
  return html + '</div>';
}

async function gridOf(page: Page, items: DatasetItem[], size: number, alt: string): Promise<string | undefined> {
  if (!items.length) return undefined;
  const batch = await decodeImages(items, { size, concurrency: 4 });
  if (!batch.items.length) return undefined;
  const cols = Math.min(8, batch.items.length);
  const png = await encodeGridPng(batch.data, size, cols);
  const width = cols * size + (cols + 1) * 2;
  return page.png(png, alt, size < 64 ? width * 2 : width);
}

interface StatsRow extends Record<string, unknown> { iteration?: number; iter?: number }

/** Run folders of the train stage: `<dir>/train` (conditional) or `<dir>/train/<class>` (per class). */
async function trainRuns(dir: string): Promise<{ name: string; dir: string }[]> {
  const root = path.join(dir, 'train');
  if (await exists(path.join(root, 'stats.jsonl'))) return [{ name: 'conditional', dir: root }];
  let names: string[] = [];
  try { names = (await fs.readdir(root, { withFileTypes: true })).filter((d) => d.isDirectory() && !d.name.startsWith('.')).map((d) => d.name).sort(); } catch { /* none */ }
  const runs: { name: string; dir: string }[] = [];
  for (const n of names) if (await exists(path.join(root, n, 'stats.jsonl'))) runs.push({ name: n, dir: path.join(root, n) });
  return runs;
}

async function trainingSection(page: Page, dir: string, state: PipelineState | undefined): Promise<string> {
  let html = '<h2 id="training">Training</h2>';
  const runs = await trainRuns(dir);
  page.sections.push({ id: 'training', available: runs.length > 0 });
  if (!runs.length) return html + missing('training statistics', stageWhy(state, 'train'));
  const loss: Record<string, unknown>[] = [];
  const disc: Record<string, unknown>[] = [];
  const diversity: Record<string, unknown>[] = [];
  let threshold: number | undefined;
  const alarms: Record<string, unknown>[] = [];
  for (const run of runs) {
    const rows = (await readJsonl<StatsRow>(path.join(run.dir, 'stats.jsonl'))) ?? [];
    for (const r of rows) {
      const it = num(r, 'iteration', 'iter', 'step');
      if (it === undefined) continue;
      const d = num(r, 'd_loss', 'dLoss', 'loss_d', 'lossD');
      const g = num(r, 'g_loss', 'gLoss', 'loss_g', 'lossG');
      if (d !== undefined) loss.push({ run: run.name, iteration: it, loss: d, network: 'discriminator' });
      if (g !== undefined) loss.push({ run: run.name, iteration: it, loss: g, network: 'generator' });
      const dx = num(r, 'd_real', 'D_x', 'dx', 'd_x', 'dReal');
      const dgz = num(r, 'd_fake', 'D_G_z', 'dgz', 'd_g_z', 'dFake');
      if (dx !== undefined) disc.push({ run: run.name, iteration: it, value: dx, output: 'D(x) real' });
      if (dgz !== undefined) disc.push({ run: run.name, iteration: it, value: dgz, output: 'D(G(z)) fake' });
      // The alarm compares the samples' diversity with the real images' (a ratio) against a threshold.
      const ratio = num(r, 'diversity_ratio');
      const div = num(r, 'diversity');
      const real = num(r, 'real_diversity');
      const value = ratio ?? (div !== undefined && real ? div / real : undefined);
      if (value !== undefined) {
        diversity.push({ run: run.name, iteration: it, value, series: 'synthetic / real diversity' });
        if (r.collapse_warning === true || r.collapse === true) alarms.push({ run: run.name, iteration: it, value });
      }
    }
    const opts = await readJson<{ options?: { collapseThreshold?: number; collapseAfter?: number } }>(path.join(run.dir, 'options.json'));
    threshold ??= opts?.options?.collapseThreshold;
  }
  const facet = runs.length > 1;
  if (loss.length) {
    html += await page.chart('loss', lossSpec(loss, facet), 'discriminator and generator losses, each on its own axis');
  } else html += missing('loss curves', 'stats.jsonl has no loss values');
  if (disc.length) {
    html += await page.chart('discriminator', lineSpec('Discriminator outputs', disc, 'value', 'output', facet), 'discriminator outputs over training');
  }
  html += '<h3 id="collapse">Mode-collapse alarm</h3>';
  if (diversity.length) {
    html += '<p>Mean pairwise distance of a fixed batch of generator samples divided by that of real training images, over training. The alarm warns when the ratio falls below the threshold (dashed) — a sign the generator makes the same few images (mode collapse).</p>';
    // One data source for every layer, so the same spec works faceted by run (per-class mode).
    const values = diversity.map((d) => ({ ...d, threshold: threshold ?? null, alarm: alarms.some((a) => a.run === d.run && a.iteration === d.iteration) }));
    const x = { field: 'iteration', type: 'quantitative' };
    const layer: unknown[] = [
      { mark: 'line', encoding: { x, y: { field: 'value', type: 'quantitative', title: 'sample diversity / real diversity' } } },
      { transform: [{ filter: 'datum.alarm' }], mark: { type: 'point', color: 'red', filled: true, size: 50 }, encoding: { x, y: { field: 'value', type: 'quantitative' } } },
    ];
    if (threshold !== undefined) layer.push({ mark: { type: 'rule', strokeDash: [4, 4], color: 'red' }, encoding: { y: { aggregate: 'mean', field: 'threshold', type: 'quantitative' } } });
    const spec = facet
      ? { title: 'Mode-collapse alarm trace', data: { values }, facet: { field: 'run', type: 'nominal' }, columns: 4, spec: { width: 220, height: 140, layer } }
      : { title: 'Mode-collapse alarm trace', data: { values }, width: 520, height: 200, layer };
    html += await page.chart('collapse', spec as unknown as ChartSpec, 'sample diversity and collapse alarm');
    html += `<p>${alarms.length ? `<strong>The alarm fired ${alarms.length} time(s)</strong> (${alarms.slice(0, 10).map((a) => `${esc(a.run)} @ ${esc(a.iteration)}`).join(', ')}).` : 'The alarm did not fire.'}${threshold !== undefined ? ` Threshold: ${fmt(threshold)}.` : ''}</p>`;
  } else html += missing('collapse alarm trace', 'stats.jsonl has no diversity values');
  // The trainer's own sample grids (fixed noise, so the same cells develop): a progression.
  html += '<h3 id="progression">Samples during training</h3><p>The training run’s grids of the same fixed noise at several iterations (a conditional grid has one row per class, named in the image), beside real training images.</p>';
  for (const run of runs) {
    const { steps, reals } = await progressionGrids(run.dir, PROGRESSION_STEPS);
    if (!steps.length) { html += missing(`sample grids${facet ? ` of ${run.name}` : ''}`, 'the run wrote no grids'); continue; }
    html += `${facet ? `<h4>${esc(run.name)}</h4>` : ''}<div class="grids progression" data-run="${esc(run.name)}">`;
    for (const g of steps) html += `<figure data-iteration="${g.iteration}"><figcaption>iteration ${g.iteration}</figcaption>${page.png(await fs.readFile(g.file), `${run.name} samples at iteration ${g.iteration}`)}</figure>`;
    if (reals) html += `<figure data-iteration="real"><figcaption>real training images</figcaption>${page.png(await fs.readFile(reals), `${run.name} real training images`)}</figure>`;
    html += '</div>';
  }
  return html;
}

/**
 * D and G losses on their own y axes (one panel each, so neither squashes the
 * other), raw as a faint line and a centred moving average over 9 log steps.
 */
function lossSpec(values: Record<string, unknown>[], facet: boolean): ChartSpec {
  const x = { field: 'iteration', type: 'quantitative' };
  const color = facet ? { color: { field: 'run', type: 'nominal' } } : {};
  return {
    title: 'GAN losses (faint: raw; solid: moving average of 9 log steps)', data: { values },
    facet: { row: { field: 'network', type: 'nominal', title: null } },
    spec: {
      width: 520, height: 140,
      layer: [
        { mark: { type: 'line', opacity: 0.3 }, encoding: { x, y: { field: 'loss', type: 'quantitative' }, ...color, detail: { field: 'run' } } },
        {
          transform: [{ window: [{ op: 'mean', field: 'loss', as: 'smoothed' }], frame: [-4, 4], groupby: ['run', 'network'], sort: [{ field: 'iteration' }] }],
          mark: 'line', encoding: { x, y: { field: 'smoothed', type: 'quantitative', title: 'loss' }, ...color, detail: { field: 'run' } },
        },
      ],
    },
    resolve: { scale: { y: 'independent' } },
  } as unknown as ChartSpec;
}

function lineSpec(title: string, values: Record<string, unknown>[], y: string, color: string, facet: boolean): ChartSpec {
  const enc = { x: { field: 'iteration', type: 'quantitative' }, y: { field: y, type: 'quantitative' }, color: { field: color, type: 'nominal' } };
  return (facet
    ? { title, data: { values }, facet: { field: 'run', type: 'nominal' }, columns: 4, spec: { width: 220, height: 140, mark: 'line', encoding: enc } }
    : { title, data: { values }, width: 520, height: 200, mark: 'line', encoding: enc }) as unknown as ChartSpec;
}

/** Grids shown per run in the training progression. */
export const PROGRESSION_STEPS = 5;

/**
 * At most `max` of `iterations`, evenly spread, always the first and the last
 * (the grids the run wrote every --grid-every iterations).
 */
export function pickProgression(iterations: number[], max: number): number[] {
  const its = [...new Set(iterations)].sort((a, b) => a - b);
  if (its.length <= max) return its;
  if (max < 2) return its.slice(-1);
  return [...new Set(Array.from({ length: max }, (_, i) => its[Math.round((i * (its.length - 1)) / (max - 1))]))];
}

/** A run's grids/<iteration>.png picked for the progression, and its grids/reals.png. */
async function progressionGrids(runDir: string, max: number): Promise<{ steps: { iteration: number; file: string }[]; reals?: string }> {
  const gdir = path.join(runDir, 'grids');
  let files: string[];
  try { files = await fs.readdir(gdir); } catch { return { steps: [] }; }
  const byIteration = new Map(files.filter((f) => /^\d+\.png$/.test(f)).map((f) => [Number(f.slice(0, -4)), f]));
  const steps = pickProgression([...byIteration.keys()], max).map((iteration) => ({ iteration, file: path.join(gdir, byIteration.get(iteration)!) }));
  return { steps, ...(files.includes('reals.png') ? { reals: path.join(gdir, 'reals.png') } : {}) };
}

interface Estimate { value?: number; accuracy?: number; ci95?: [number, number] }

function estimateOf(x: unknown): { value?: number; ci95?: [number, number] } {
  if (typeof x === 'number') return { value: x };
  if (x && typeof x === 'object') {
    const e = x as Estimate & Record<string, unknown>;
    return { value: e.value ?? e.accuracy, ci95: e.ci95 };
  }
  return {};
}

async function scoreSection(page: Page, dir: string, state: PipelineState | undefined): Promise<string> {
  let html = '<h2 id="scores">Scores: GAN-train / GAN-test</h2>';
  const score = await readJson<Record<string, unknown>>(path.join(dir, 'score', 'score.json'));
  page.sections.push({ id: 'scores', available: Boolean(score) });
  if (!score) return html + missing('scores', stageWhy(state, 'score'));
  html += '<p>Baseline: classifier trained on real training images, tested on the real test split. GAN-train: the same recipe trained only on synthetic images, tested on the real test split. GAN-test: the real-trained classifier on synthetic images (Shmelkov et al., ECCV 2018). 95% bootstrap confidence intervals.</p>';
  const kinds = ['baseline', 'gan_train', 'gan_test'] as const;
  const rows = kinds.map((k) => {
    const part = score[k] as Record<string, unknown> | undefined;
    const acc = estimateOf(part?.accuracy);
    const bal = estimateOf(part?.balanced_accuracy ?? part?.balancedAccuracy);
    return `<tr><td>${k.replace('_', '-')}</td><td>${pct(acc.value)}</td><td>${ci(acc.ci95)}</td><td>${pct(bal.value)}</td><td>${ci(bal.ci95)}</td><td>${fmt(part?.n ?? part?.count)}</td></tr>`;
  }).join('');
  html += `<table class="scores"><thead><tr><th>measure</th><th>accuracy</th><th>95% CI</th><th>balanced accuracy</th><th>95% CI</th><th>n</th></tr></thead><tbody>${rows}</tbody></table>`;
  html += await scoreChart(page, score);

  // Per-class sensitivity per measure.
  const perClassRows: string[] = [];
  for (const k of kinds) {
    const pc = perClassOf(score[k]);
    for (const [cls, m] of Object.entries(pc)) {
      const s = estimateOf(m.sensitivity ?? m.recall);
      const p = estimateOf(m.precision);
      const f1 = estimateOf(m.f1);
      perClassRows.push(`<tr><td>${k.replace('_', '-')}</td><td>${esc(cls)}</td><td>${pct(s.value)} ${ci(s.ci95)}</td><td>${pct(p.value)} ${ci(p.ci95)}</td><td>${fmt(f1.value)}</td></tr>`);
    }
  }
  if (perClassRows.length) html += `<h3>Per class</h3><table><thead><tr><th>measure</th><th>class</th><th>sensitivity [95% CI]</th><th>precision [95% CI]</th><th>F1</th></tr></thead><tbody>${perClassRows.join('')}</tbody></table>`;

  html += '<h3>Confusion matrices</h3><div class="grids">';
  let anyCm = false;
  for (const k of kinds) {
    const cm = confusionOf(score[k]);
    if (!cm) continue;
    anyCm = true;
    const values: { true: string; predicted: string; count: number }[] = [];
    cm.matrix.forEach((row, i) => row.forEach((n, j) => values.push({ true: cm.classes[i], predicted: cm.classes[j], count: n })));
    html += await page.chart(`confusion-${k}`, {
      title: `${k.replace('_', '-')} confusion matrix`, width: 260, height: 260, data: { values },
      encoding: { x: { field: 'predicted', type: 'nominal', sort: cm.classes }, y: { field: 'true', type: 'nominal', sort: cm.classes } },
      layer: [
        { mark: 'rect', encoding: { color: { field: 'count', type: 'quantitative', scale: { scheme: 'blues' } } } },
        { mark: { type: 'text', fontSize: 13 }, encoding: { text: { field: 'count', type: 'quantitative' } } },
      ],
    } as unknown as ChartSpec, `${k} confusion matrix`);
  }
  html += '</div>';
  if (!anyCm) html += missing('confusion matrices', 'score.json has none');
  return html;
}

/**
 * Accuracy of baseline / GAN-train / GAN-test as points with their 95% CI
 * bars and a dashed chance line (1 / number of classes), and a sentence for
 * each figure whose interval reaches chance.
 */
interface PairRow { file: string; class?: string; nearest: string; distance: number; flagged?: boolean }

/** The memorisation audit of score.json: rates, and the closest synthetic–training pairs side by side. */
async function memorizationSection(page: Page, dir: string, state: PipelineState | undefined): Promise<string> {
  let html = '<h2 id="memorization">Memorisation: closest pairs</h2>';
  const score = await readJson<Record<string, unknown>>(path.join(dir, 'score', 'score.json'));
  const m = score?.memorization as { rate?: number; images?: number; flagged_count?: number; per_class?: Record<string, { rate: number; images: number; flagged: number }>; flagged?: PairRow[]; closest?: PairRow[]; calibration?: { threshold?: number; quantile?: number; held_out?: number } } | undefined;
  page.sections.push({ id: 'memorization', available: Boolean(m) });
  if (!m) return html + missing('memorisation audit', score ? 'score.json has no memorization section' : stageWhy(state, 'score'));
  const cal = m.calibration ?? {};
  html += `<p>Each synthetic image’s nearest real training image (flip/rotation-invariant fingerprints; distance 1 − cosine). It is flagged as a probable copy at distance ≤ ${fixed(cal.threshold, 4)}`
    + `${typeof cal.quantile === 'number' ? `, closer than ${100 * (1 - cal.quantile)} % of ${fmt(cal.held_out)} held-out real cells are to theirs` : ''}.</p>`;
  html += `<p><strong>Flagged: ${fmt(m.flagged_count)} of ${fmt(m.images)} (${pct(m.rate)}).</strong></p>`;
  html += `<table><thead><tr><th>class</th><th>synthetic images</th><th>flagged</th><th>rate</th></tr></thead><tbody>${Object.entries(m.per_class ?? {}).map(([c, x]) => `<tr><td>${esc(c)}</td><td>${fmt(x.images)}</td><td>${fmt(x.flagged)}</td><td>${pct(x.rate)}</td></tr>`).join('')}</tbody></table>`;
  const pairs = (m.closest ?? m.flagged?.map((f) => ({ ...f, flagged: true })) ?? []).filter((p) => p && typeof p.file === 'string' && typeof p.nearest === 'string');
  if (!pairs.length) return html + '<p>No synthetic image has a real training image within the search radius.</p>';
  const dataRoot = typeof state?.options.dataRoot === 'string' ? state.options.dataRoot : undefined;
  const size = typeof state?.options.size === 'number' ? state.options.size : 64;
  html += '<p>Closest pairs, closest first (left: synthetic, right: its nearest real training image).</p><div class="pairs">';
  for (const p of pairs) {
    const items = [{ file: p.file, abs: path.join(dir, 'generate', p.file), label: p.class ?? '' }, ...(dataRoot ? [{ file: p.nearest, abs: path.join(dataRoot, p.nearest), label: p.class ?? '' }] : [])];
    const grid = await gridOf(page, items, size, `synthetic ${p.file} beside real ${p.nearest}`);
    html += `<figure class="closest-pair${p.flagged ? ' flagged' : ''}">${grid ?? missing('images', 'could not be read')}<figcaption>${esc(p.file)} ≈ ${esc(p.nearest)}<br>distance ${fixed(p.distance, 4)}${p.flagged ? ' · <strong>flagged</strong>' : ''}</figcaption></figure>`;
  }
  return html + '</div>';
}

async function scoreChart(page: Page, score: Record<string, unknown>): Promise<string> {
  const kinds = ['baseline', 'gan_train', 'gan_test'] as const;
  const classes = kinds.map((k) => confusionOf(score[k])?.classes.length ?? Object.keys(perClassOf(score[k])).length).find((n) => n > 0);
  const chance = classes ? 1 / classes : undefined;
  const values = kinds.flatMap((k) => {
    const e = estimateOf((score[k] as Record<string, unknown> | undefined)?.accuracy);
    if (e.value === undefined) return [];
    return [{ measure: k.replace('_', '-'), accuracy: e.value, lo: e.ci95?.[0] ?? e.value, hi: e.ci95?.[1] ?? e.value }];
  });
  if (!values.length) return '';
  const y = { field: 'measure', type: 'nominal', sort: values.map((v) => v.measure), title: null };
  const axis = { scale: { domain: [0, 1] }, axis: { format: '%' } };
  const layer: unknown[] = [
    { mark: { type: 'rule', strokeWidth: 2 }, encoding: { y, x: { field: 'lo', type: 'quantitative', title: 'accuracy (95% CI)', ...axis }, x2: { field: 'hi' } } },
    { mark: { type: 'point', filled: true, size: 90 }, encoding: { y, x: { field: 'accuracy', type: 'quantitative' } } },
    { mark: { type: 'text', dy: -12, fontSize: 12 }, encoding: { y, x: { field: 'accuracy', type: 'quantitative' }, text: { field: 'accuracy', type: 'quantitative', format: '.1%' } } },
  ];
  if (chance !== undefined) {
    layer.push({ data: { values: [{ chance, label: `chance ${(chance * 100).toFixed(1)}%` }] }, layer: [
      { mark: { type: 'rule', strokeDash: [4, 4], color: '#a00000' }, encoding: { x: { field: 'chance', type: 'quantitative' } } },
      { mark: { type: 'text', align: 'left', dx: 4, dy: -4, color: '#a00000', fontSize: 11 }, encoding: { x: { field: 'chance', type: 'quantitative' }, y: { value: 0 }, text: { field: 'label' } } },
    ] });
  }
  let html = await page.chart('scores', { title: 'Accuracy on the real test split (GAN-test: on the synthetic images)', width: 520, height: 120, data: { values }, layer } as unknown as ChartSpec,
    'accuracy of baseline, GAN-train and GAN-test with 95% confidence intervals and the chance level');
  if (chance !== undefined) {
    const atChance = values.filter((v) => v.lo <= chance);
    for (const v of atChance) {
      html += `<p class="at-chance"><strong>${esc(v.measure)} is at chance level:</strong> its 95% CI [${pct(v.lo)}, ${pct(v.hi)}] reaches ${pct(chance)} (1 of ${classes} classes), so this figure says nothing beyond guessing.</p>`;
    }
  }
  return html;
}

function perClassOf(part: unknown): Record<string, Record<string, unknown>> {
  if (!part || typeof part !== 'object') return {};
  const p = part as Record<string, unknown>;
  const pc = p.per_class ?? p.perClass ?? p.classes;
  if (Array.isArray(pc)) return Object.fromEntries(pc.map((r: Record<string, unknown>) => [String(r.class), r]));
  return pc && typeof pc === 'object' ? (pc as Record<string, Record<string, unknown>>) : {};
}

function confusionOf(part: unknown): { classes: string[]; matrix: number[][] } | undefined {
  if (!part || typeof part !== 'object') return undefined;
  const p = part as Record<string, unknown>;
  const cm = (p.confusion ?? p.confusion_matrix ?? p.confusionMatrix) as Record<string, unknown> | number[][] | undefined;
  if (!cm) return undefined;
  if (Array.isArray(cm)) {
    const classes = (p.classes as string[] | undefined) ?? cm.map((_, i) => String(i));
    return { classes, matrix: cm };
  }
  const matrix = (cm.matrix ?? cm.counts) as number[][] | undefined;
  const classes = (cm.classes ?? cm.labels ?? p.classes) as string[] | undefined;
  return matrix && classes ? { classes, matrix } : undefined;
}

interface DistanceRow {
  class: string; fid?: number; kid?: number; kid_std?: number; precision?: number; recall?: number; n_real?: number; n_fake?: number; warning?: string;
  /** The real-vs-real reference (distances.json `reference`): n images on the second side of both FIDs. */
  ref_n?: number; fid_real?: number; fid_synthetic?: number;
}

async function distancesSection(page: Page, dir: string, state: PipelineState | undefined): Promise<string> {
  let html = '<h2 id="distances">Feature-space distances per class</h2>';
  const raw = await readJson<Record<string, unknown>>(path.join(dir, 'score', 'distances.json'));
  const rows = distanceRows(raw);
  page.sections.push({ id: 'distances', available: rows.length > 0 });
  if (!rows.length) return html + missing('FID / KID / precision-recall', stageWhy(state, 'score'));
  const refSubset = typeof raw?.reference_subset === 'string' ? raw.reference_subset : undefined;
  const realSubset = typeof raw?.real_subset === 'string' ? raw.real_subset : 'real';
  const withRef = rows.some((r) => r.fid_real !== undefined);
  html += '<p>FID and KID (lower is closer to the real images) and precision / recall (Kynkäänniemi et al. 2019; higher is better) between each class’s real and synthetic images, on the reference classifier’s penultimate features.</p>';
  html += withRef
    ? `<p>An FID in this feature space has no absolute scale, so each class also has a <strong>real-vs-real FID</strong>: the same real ${esc(realSubset)} images against <em>n</em> real ${esc(refSubset ?? 'other')} images of the class, beside the synthetic FID with <em>n</em> synthetic images (equal sample sizes, so the two can be compared). A synthetic FID near the real-vs-real one means the synthetic images are about as far from the real ones as other real images are.</p>`
    : '<p>No real-vs-real reference FID (distances.json has none: scored without a split or before cellgan computed it).</p>';
  const k3 = (x: number | undefined) => (x === undefined ? undefined : x * 1e3);
  const refCells = (r: DistanceRow) => (withRef ? `<td>${fmt(r.fid_synthetic, 2)}</td><td>${fmt(r.fid_real, 2)}</td><td>${fmt(r.ref_n)}</td>` : '');
  html += `<table class="distances"><thead><tr><th>class</th><th>FID</th>${withRef ? '<th>FID at n: synthetic</th><th>FID at n: real vs real</th><th>n</th>' : ''}<th>KID ×10³ (± std)</th><th>precision</th><th>recall</th><th>real</th><th>synthetic</th></tr></thead><tbody>${rows.map((r) => `<tr><td>${esc(r.class)}</td><td>${fmt(r.fid, 2)}</td>${refCells(r)}<td>${fixed(k3(r.kid), 2)}${r.kid_std !== undefined ? ` ± ${fixed(k3(r.kid_std), 2)}` : ''}</td><td>${fmt(r.precision)}</td><td>${fmt(r.recall)}</td><td>${fmt(r.n_real)}</td><td>${fmt(r.n_fake)}</td></tr>`).join('')}</tbody></table>`;
  html += distanceWarnings(rows);
  // FID: synthetic beside real-vs-real, at equal sample sizes where there is a reference.
  const fid = rows.flatMap((r) => withRef
    ? ([['synthetic', r.fid_synthetic], ['real vs real', r.fid_real]] as const).filter(([, v]) => v !== undefined).map(([series, v]) => ({ class: r.class, series: series as string, value: v! }))
    : r.fid !== undefined ? [{ class: r.class, series: 'synthetic', value: r.fid }] : []);
  html += await barsOrSentence(page, 'fid', withRef ? 'FID per class: synthetic vs real-vs-real (same n)' : 'FID per class', fid, 'FID', 'FID', withRef ? 'FID of synthetic and of other real images per class' : 'FID per class');
  const kid = rows.filter((r) => r.kid !== undefined).map((r) => ({ class: r.class, series: 'synthetic', value: r.kid! * 1e3 }));
  html += await barsOrSentence(page, 'kid', 'KID ×10³ per class', kid, 'KID ×10³', 'KID', 'KID per class');
  const pr = rows.flatMap((r) => (['precision', 'recall'] as const).filter((m) => r[m] !== undefined).map((m) => ({ class: r.class, series: m, value: r[m]! })));
  html += await barsOrSentence(page, 'precision-recall', 'Precision and recall per class', pr, 'fraction', 'precision and recall', 'precision and recall per class', [0, 1]);
  return html;
}

/**
 * A grouped bar chart of `values` per class, with each bar's number on it;
 * when every value is 0 (or there are none) a sentence instead of an empty chart.
 */
async function barsOrSentence(page: Page, name: string, title: string, values: { class: string; series: string; value: number }[], yTitle: string, what: string, alt: string, domain?: [number, number]): Promise<string> {
  const finite = values.filter((v) => Number.isFinite(v.value));
  if (!finite.some((v) => v.value !== 0)) {
    return `<p class="note" data-no-chart="${esc(name)}">${finite.length ? `${esc(what)}: 0 for every class` : `${esc(what)}: no finite value for any class`}, so no chart.</p>`;
  }
  const series = [...new Set(finite.map((v) => v.series))];
  const y = { field: 'value', type: 'quantitative', title: yTitle, ...(domain ? { scale: { domain } } : {}) };
  const x = { field: 'class', type: 'nominal', title: null };
  const offset = series.length > 1 ? { xOffset: { field: 'series', type: 'nominal', sort: series } } : {};
  return page.chart(name, {
    title, width: Math.max(220, 60 * new Set(finite.map((v) => v.class)).size * series.length), height: 160, data: { values: finite },
    layer: [
      { mark: 'bar', encoding: { x, y, ...offset, color: { field: 'series', type: 'nominal', sort: series, title: null } } },
      { mark: { type: 'text', dy: -6, fontSize: 10 }, encoding: { x, y, ...offset, text: { field: 'value', type: 'quantitative', format: '.4~r' } } },
    ],
  } as unknown as ChartSpec, alt);
}

/**
 * The per-class warnings said once each: the same warning (its class-specific
 * numbers in brackets aside) for several classes is one note naming them.
 */
function distanceWarnings(rows: DistanceRow[]): string {
  const byText = new Map<string, string[]>();
  for (const r of rows) {
    for (const w of (r.warning ?? '').split('; ').filter(Boolean)) {
      const key = w.replace(/\s*\([^)]*\)/g, '');
      byText.set(key, [...(byText.get(key) ?? []), r.class]);
    }
  }
  return [...byText].map(([w, cls]) => `<p class="note">Note for ${cls.length === rows.length ? 'every class' : cls.map(esc).join(', ')}: ${esc(w)}.</p>`).join('');
}

/** Accepts `{classes: {cls: {...}}}`, `{per_class: [...]}`, `[...]` or `{cls: {...}}`. */
function distanceRows(raw: unknown): DistanceRow[] {
  if (!raw || typeof raw !== 'object') return [];
  const r = raw as Record<string, unknown>;
  const src = (r.per_class ?? r.perClass ?? r.classes ?? raw) as unknown;
  const entries: [string, Record<string, unknown>][] = Array.isArray(src)
    ? src.map((x: Record<string, unknown>) => [String(x.class), x])
    : Object.entries(src as Record<string, Record<string, unknown>>).filter(([, v]) => v && typeof v === 'object' && !Array.isArray(v));
  return entries.map(([cls, v]) => {
    const n = (k: string[]) => { for (const key of k) { const e = estimateOf(v[key]); if (e.value !== undefined) return e.value; } return undefined; };
    const kidObj = v.kid as Record<string, unknown> | undefined;
    return {
      class: cls,
      fid: n(['fid', 'FID']),
      kid: n(['kid', 'KID']),
      kid_std: typeof v.kid_std === 'number' ? v.kid_std : typeof kidObj?.std === 'number' ? (kidObj.std as number) : undefined,
      precision: n(['precision']),
      recall: n(['recall']),
      n_real: n(['n_real', 'nReal', 'real']),
      n_fake: n(['n_fake', 'nFake', 'n_synthetic', 'synthetic', 'fake']),
      ...referenceOf(v.reference),
      warning: Array.isArray(v.warnings) ? (v.warnings as string[]).join('; ') : typeof v.warning === 'string' ? v.warning : undefined,
    };
  }).filter((x) => [x.fid, x.kid, x.precision, x.recall].some((y) => y !== undefined));
}

function referenceOf(x: unknown): Pick<DistanceRow, 'ref_n' | 'fid_real' | 'fid_synthetic'> {
  if (!x || typeof x !== 'object') return {};
  const r = x as Record<string, unknown>;
  const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  return { ref_n: n(r.n), fid_real: n(r.fid_real), fid_synthetic: n(r.fid_synthetic) };
}

interface DatasetJson { counts?: unknown }

async function exportSection(page: Page, dir: string, state: PipelineState | undefined): Promise<string> {
  let html = '<h2 id="export">Exported dataset</h2>';
  const ds = await readJson<DatasetJson>(path.join(dir, 'export', 'dataset.json'));
  const rows = exportRows(ds?.counts);
  page.sections.push({ id: 'export', available: rows.length > 0 });
  if (!rows.length) return html + missing('export counts', stageWhy(state, 'export'));
  html += `<p>Balanced dataset in <code>${esc(path.join(dir, 'export'))}</code> (ImageFolder layout; every file’s origin in manifest.csv / manifest.jsonl). Synthetic and augmented images only ever enter the training split.</p>`;
  html += await page.chart('export', {
    title: 'Exported images by origin', data: { values: rows }, columns: 3,
    facet: { field: 'split', type: 'nominal', sort: ['train', 'val', 'test'] },
    spec: { width: 200, height: 160, mark: 'bar', encoding: { x: { field: 'class', type: 'nominal' }, y: { field: 'images', type: 'quantitative', stack: 'zero' }, color: { field: 'origin', type: 'nominal', sort: ['real', 'augmented', 'synthetic'] } } },
  } as unknown as ChartSpec, 'exported images per class and origin');
  const table = new Map<string, Record<string, number>>();
  for (const r of rows) {
    const key = `${r.split}\0${r.class}`;
    const t = table.get(key) ?? {};
    t[r.origin] = (t[r.origin] ?? 0) + r.images;
    table.set(key, t);
  }
  html += `<table><thead><tr><th>split</th><th>class</th><th>real</th><th>augmented</th><th>synthetic</th></tr></thead><tbody>${[...table].map(([k, t]) => { const [s, c] = k.split('\0'); return `<tr><td>${esc(s)}</td><td>${esc(c)}</td><td>${t.real ?? 0}</td><td>${t.augmented ?? 0}</td><td>${t.synthetic ?? 0}</td></tr>`; }).join('')}</tbody></table>`;
  return html;
}

/** dataset.json counts: `{split: {class: {origin: n}}}` (or a list of rows). */
function exportRows(counts: unknown): { split: string; class: string; origin: string; images: number }[] {
  const out: { split: string; class: string; origin: string; images: number }[] = [];
  if (Array.isArray(counts)) {
    for (const r of counts as Record<string, unknown>[]) if (typeof r.count === 'number' || typeof r.images === 'number') out.push({ split: String(r.split), class: String(r.class), origin: String(r.origin), images: (r.count ?? r.images) as number });
    return out;
  }
  if (!counts || typeof counts !== 'object') return out;
  for (const [split, byClass] of Object.entries(counts as Record<string, unknown>)) {
    if (!byClass || typeof byClass !== 'object') continue;
    for (const [cls, byOrigin] of Object.entries(byClass as Record<string, unknown>)) {
      if (!byOrigin || typeof byOrigin !== 'object') continue;
      for (const [origin, n] of Object.entries(byOrigin as Record<string, unknown>)) if (typeof n === 'number' && origin !== 'total') out.push({ split, class: cls, origin, images: n });
    }
  }
  return out;
}

// ---------------------------------------------------------------- page

const CSS = `
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#222}
h1{margin-bottom:.2rem}h2{border-bottom:1px solid #ccc;padding-bottom:.2rem;margin-top:2.2rem}
table{border-collapse:collapse;margin:.6rem 0}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left;font-size:.9rem}
table.kv th{background:#f6f6f6}
.note{color:#444;background:#f3f3f3;padding:.4rem .6rem;border-left:3px solid #999}
.at-chance{color:#8a0000}
table.kv td code{white-space:pre-wrap;word-break:break-word}
.missing{color:#8a5a00;background:#fff6e0;padding:.4rem .6rem;border-left:3px solid #e0a000}
.status-done{color:#106010}.status-failed,.status-interrupted{color:#a00000}.status-running{color:#8a5a00}
.pair,.grids{display:flex;flex-wrap:wrap;gap:1rem;align-items:flex-start}
figure{margin:0}figcaption{font-size:.8rem;color:#555}
img.grid{image-rendering:pixelated;max-width:100%}
.chart img{max-width:100%}
nav a{margin-right:.8rem}
.pairs{display:flex;flex-wrap:wrap;gap:.8rem}.closest-pair figcaption{max-width:14rem;word-break:break-all}.closest-pair.flagged figcaption{color:#8a0000}
`;

/** Renders `<dir>/report.html` from the pipeline folder's current contents. */
export async function renderReport(opts: RenderReportOptions): Promise<RenderReportResult> {
  const dir = path.resolve(opts.dir);
  if (!(await exists(dir))) throw new CellganError('no such pipeline folder', { file: opts.dir });
  const gridCount = opts.gridCount ?? 16;
  const state = await readState(dir).catch(() => undefined);
  splitClasses = await readJson<Record<string, string>>(path.join(dir, 'split', 'classes.json'));
  const page = new Page();
  const parts: string[] = [];
  const sections: [string, () => Promise<string>][] = [
    ['dataset', () => datasetSection(page, dir, state)],
    ['samples', () => samplesSection(page, dir, state, gridCount)],
    ['training', () => trainingSection(page, dir, state)],
    ['scores', () => scoreSection(page, dir, state)],
    ['memorization', () => memorizationSection(page, dir, state)],
    ['distances', () => distancesSection(page, dir, state)],
    ['export', () => exportSection(page, dir, state)],
  ];
  for (const [id, render] of sections) {
    try {
      parts.push(await render());
    } catch (err) {
      // One unreadable section must not cost the whole report.
      page.sections.push({ id, available: false });
      parts.push(`<h2 id="${id}">${id}</h2>${missing(id, `could not render: ${(err as Error).message}`)}`);
    }
  }
  splitClasses = undefined;
  const title = `cellgan report: ${path.basename(dir)}`;
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><style>${CSS}</style></head>
<body>
<h1>${esc(title)}</h1>
<p>Written by cellgan ${esc(VERSION)} on ${esc(new Date().toISOString())} from <code>${esc(dir)}</code>.</p>
<nav><a href="#overview">run</a><a href="#dataset">dataset</a><a href="#samples">samples</a><a href="#training">training</a><a href="#collapse">collapse alarm</a><a href="#progression">samples during training</a><a href="#scores">scores</a><a href="#memorization">memorisation</a><a href="#distances">distances</a><a href="#export">export</a></nav>
${overview(state)}
${await environment(dir)}
${parts.join('\n')}
</body></html>
`;
  const file = opts.out ?? path.join(dir, REPORT_FILE);
  await writeFileAtomic(file, html);
  return { file, sections: page.sections, charts: page.charts, images: page.images };
}

/**
 * The dataset card (`<out>/README.md`): what a researcher needs to share the
 * export — where the real images came from (licence, citation), which
 * generator runs made the synthetic ones, what augmentation did, counts by
 * split/class/origin, and the exact command. No dates or absolute machine
 * details, so the same inputs give the same card.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { FileProblem, SplitName } from '../data/types.js';
import { SPLIT_NAMES } from '../data/types.js';
import type { AugmentKind } from './classic.js';
import { ORIGINS, type ExportCounts, type ExportFormat, type ExportMemorization, type GeneratorUse } from './types.js';
import type { Plan } from './plan.js';

export interface SourceDoc {
  /** File name as found (e.g. README.md). */
  name: string;
  kind: 'readme' | 'citation' | 'license';
  text: string;
}

const DOC_PATTERNS: [RegExp, SourceDoc['kind']][] = [
  [/^readme(\.(md|txt|rst))?$/i, 'readme'],
  [/^citation(\.(cff|bib|md|txt))?$/i, 'citation'],
  [/^licen[cs]e(\.(md|txt))?$/i, 'license'],
];

/**
 * README / CITATION / LICENSE files in the data folder (and the labels CSV's
 * folder); when there are none, those beside the data folder (its parent,
 * where a collection of datasets usually keeps them), named `../<file>`.
 */
export async function findSourceDocs(dataRoot: string, labelsDir?: string): Promise<SourceDoc[]> {
  const inside = await docsIn([dataRoot, labelsDir], '');
  if (inside.length) return inside;
  return docsIn([path.dirname(dataRoot)], '../');
}

async function docsIn(dirs: (string | undefined)[], prefix: string): Promise<SourceDoc[]> {
  const docs: SourceDoc[] = [];
  const seen = new Set<string>();
  for (const dir of dirs) {
    if (!dir || seen.has(dir)) continue;
    seen.add(dir);
    let names: string[];
    try { names = (await fs.readdir(dir)).sort(); } catch { continue; }
    for (const [re, kind] of DOC_PATTERNS) {
      for (const name of names.filter((n) => re.test(n))) {
        try {
          const stat = await fs.stat(path.join(dir, name));
          if (!stat.isFile() || stat.size > 256 * 1024) continue;
          docs.push({ name: prefix + name, kind, text: (await fs.readFile(path.join(dir, name), 'utf8')).replace(/\r\n/g, '\n').trim() });
        } catch { /* unreadable: just not quoted */ }
      }
    }
  }
  return docs;
}

/** The sections of a README about source, licence or citation; the whole README when it has none. */
export function relevantSections(markdown: string): string {
  const lines = markdown.split('\n');
  const out: string[] = [];
  // The text before the first heading (after a title) usually says what the data is.
  let keep = true;
  let level = 0;
  for (const line of lines) {
    const h = /^(#{1,6})\s+(.*)$/.exec(line);
    if (h) {
      if (keep && level > 0 && h[1].length > level) { out.push(line); continue; }
      if (h[1].length === 1 && level === 0) { out.push(line); continue; } // the title
      keep = /licen[cs]e|citation|cite|source|provenance|origin/i.test(h[2]);
      level = h[1].length;
    }
    if (keep) out.push(line);
  }
  const text = out.join('\n').trim();
  return text || markdown.trim();
}

function quote(text: string): string {
  return text.split('\n').map((l) => (l ? `> ${l}` : '>')).join('\n');
}

function cell(s: string | number): string {
  return String(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export interface CardInput {
  title: string;
  data: string;
  labels?: string;
  split: string;
  perClass: number;
  classes: string[];
  counts: ExportCounts;
  generators: GeneratorUse[];
  plan: Plan;
  mix: string;
  augment: AugmentKind[];
  colorLimits: { brightness: number; saturation: number; hueDegrees: number };
  format: ExportFormat;
  seed: number;
  cap: boolean;
  command?: string;
  citation?: string;
  license?: string;
  sourceDocs: SourceDoc[];
  skipped: FileProblem[];
  warnings: string[];
  version: string;
  /** The memorisation audit of the synthetic images checked (null without synthetic images). */
  memorization?: ExportMemorization | null;
  /** Synthetic images dropped as copies of real validation/test images. */
  leaks?: number;
}

/** The card's statement of how many synthetic images copy real ones. */
function memorizationLines(m: ExportMemorization, leaks: number): string[] {
  const cal = m.calibration;
  return [
    `**Memorisation rate: ${(100 * m.rate).toFixed(1)} %** (${m.flagged.length} of ${m.checked} synthetic images checked are probable copies of real training images: `
    + `nearest training image at distance ≤ ${cal.threshold.toFixed(4)}, closer than ${100 * (1 - cal.quantile)} % of ${cal.held_out} held-out real cells are to theirs; `
    + `flip/rotation-invariant DCT fingerprints). ${m.excluded ? 'They were left out (--exclude-memorized) and are listed under Skipped inputs.' : m.flagged.length ? 'They are included; --exclude-memorized leaves them out.' : ''}`,
    '',
    `Every synthetic image was checked against the real validation and test images: ${leaks ? `${leaks} exact or near copies were left out (--drop-leaks), listed under Skipped inputs` : 'none is an exact or near copy of one'}.`,
    '',
  ];
}

/** The Hugging Face split name of each cellgan split. */
export const HF_SPLITS: Record<SplitName, string> = { train: 'train', val: 'validation', test: 'test' };

/** Licence identifiers the Hub knows that free text may name (CC family, common open licences). */
const CC = /\bCC[\s-]?(BY(?:[\s-](?:NC|SA|ND)){0,2}|0)[\s-]?(\d\.\d)?\b/i;

/**
 * A Hub licence identifier for a licence given as text ("CC BY 4.0" →
 * cc-by-4.0), found in the source docs when none is given; `other` (with
 * the text as its name) when it cannot be mapped, `unknown` when there is none.
 */
export function hfLicense(license: string | undefined, docs: SourceDoc[]): { id: string; name?: string } {
  const texts = license !== undefined ? [license] : docs.map((d) => d.text);
  for (const t of texts) {
    const m = CC.exec(t);
    if (m) {
      const kind = m[1].toLowerCase().replace(/\s+/g, '-');
      if (kind === '0') return { id: 'cc0-1.0' };
      return { id: `cc-${kind}-${m[2] ?? '4.0'}` };
    }
    const simple = /^\s*(mit|apache-2\.0|bsd-3-clause|bsd-2-clause|gpl-3\.0|odbl|pddl|odc-by)\s*$/i.exec(t);
    if (simple) return { id: simple[1].toLowerCase() };
  }
  if (license !== undefined) return { id: 'other', name: license.trim().toLowerCase().replace(/[^a-z0-9.]+/g, '-').replace(/^-|-$/g, '') || 'other' };
  return { id: 'unknown' };
}

const y = (s: string) => JSON.stringify(s); // a JSON string is a valid YAML scalar

/**
 * YAML front matter for the Hugging Face Hub: licence, task, and
 * `dataset_info.features` with the label as a `ClassLabel` of the class
 * names (in the order of the export, as ImageFolder's class_to_idx), plus
 * the splits as `configs`, so `load_dataset("imagefolder", …)` or the Hub
 * yields integer labels with names.
 */
export function hfFrontMatter(c: Pick<CardInput, 'title' | 'classes' | 'counts' | 'license' | 'sourceDocs'>): string {
  const lic = hfLicense(c.license, c.sourceDocs);
  const L = ['---', `license: ${lic.id}`];
  if (lic.name) L.push(`license_name: ${y(lic.name)}`);
  L.push('task_categories:', '- image-classification', 'tags:', '- biology', '- medical', '- synthetic', '- blood-cells');
  L.push(`pretty_name: ${y(c.title)}`);
  L.push('dataset_info:', '  features:', '  - name: image', '    dtype: image', '  - name: label', '    dtype:', '      class_label:', '        names:');
  c.classes.forEach((k, i) => L.push(`          ${y(String(i))}: ${y(k)}`));
  for (const f of ['origin', 'source', 'transform']) L.push(`  - name: ${f}`, '    dtype: string');
  const filled = SPLIT_NAMES.filter((s) => c.classes.some((k) => c.counts[s][k].real + c.counts[s][k].synthetic + c.counts[s][k].augmented > 0));
  L.push('  splits:');
  for (const s of filled) {
    const n = c.classes.reduce((t, k) => t + c.counts[s][k].real + c.counts[s][k].synthetic + c.counts[s][k].augmented, 0);
    L.push(`  - name: ${HF_SPLITS[s]}`, `    num_examples: ${n}`);
  }
  L.push('configs:', '- config_name: default', '  data_files:');
  for (const s of filled) L.push(`  - split: ${HF_SPLITS[s]}`, `    path: ${y(`${s}/**`)}`);
  L.push('---', '');
  return L.join('\n');
}

export function renderCard(c: CardInput): string {
  const L: string[] = [];
  if (c.format === 'hf') L.push(hfFrontMatter(c));
  const total = (s: SplitName) => c.classes.reduce((n, k) => n + ORIGINS.reduce((m, o) => m + c.counts[s][k][o], 0), 0);

  L.push(`# ${c.title}: class-balanced blood-cell image dataset`, '');
  L.push(`Made by cellgan ${c.version}. The training split holds exactly ${c.perClass} images per class`
    + ' (real images first, then synthetic and augmented ones); the validation and test splits hold real images only.'
    + ' Every file is listed in `manifest.csv` / `manifest.jsonl` with its origin, source, transform and SHA-256.', '');
  if (c.command) L.push('Made with:', '', '```sh', c.command, '```', '');

  L.push('## Counts', '');
  L.push('| split | class | real | synthetic | augmented | total |', '|---|---|---:|---:|---:|---:|');
  for (const s of SPLIT_NAMES) {
    for (const k of c.classes) {
      const r = c.counts[s][k];
      const t = r.real + r.synthetic + r.augmented;
      if (t) L.push(`| ${s} | ${cell(k)} | ${r.real} | ${r.synthetic} | ${r.augmented} | ${t} |`);
    }
  }
  L.push('', `Totals: train ${total('train')}, val ${total('val')}, test ${total('test')}.`, '');

  L.push('## Layout and loading', '');
  L.push('`<split>/<class>/<file>` (ImageFolder), loadable as is. Every split has a folder for every class, empty when the split has no image of it,'
    + ' so train, val and test give the same class indices (`class_to_idx`); torchvision needs `allow_empty=True` (0.18 and later) for a split with an empty class folder.', '');
  L.push('```python', 'torchvision.datasets.ImageFolder("train", allow_empty=True)', 'keras.utils.image_dataset_from_directory("train")');
  if (c.format === 'hf') L.push('datasets.load_dataset("imagefolder", data_dir=".")  # label: ClassLabel (names in the front matter); metadata.jsonl adds origin, source, transform');
  L.push('```', '');
  L.push(`Class indices: ${c.classes.map((k, i) => `${i} = ${k}`).join(', ')}.`, '');
  L.push('File names: real images keep their original name; synthetic ones start with `syn<k>_` (k = position of the synthetic folder in the command), augmented ones are `aug_<real image>_<n>.png`.', '');

  L.push('## Real images: source, licence and citation', '');
  L.push(`From \`${c.data}\`${c.labels ? ` (labels: \`${c.labels}\`)` : ''}, split by \`${c.split}\`. Real images are copied byte for byte`
    + ' (files in other formats or colour spaces are re-encoded as PNG; the manifest says `convert:png`).', '');
  if (c.license) L.push(`Licence: ${c.license}`, '');
  if (c.citation) L.push(`Citation: ${c.citation}`, '');
  for (const d of c.sourceDocs) {
    L.push(`From \`${d.name}\` beside the data:`, '', quote(d.kind === 'readme' ? relevantSections(d.text) : d.text), '');
  }
  if (!c.license && !c.citation && c.sourceDocs.length === 0) L.push('No licence or citation was found or given: check the terms of the original data before sharing.', '');

  L.push('## Synthetic images', '');
  if (c.generators.length === 0) L.push('None.', '');
  else {
    L.push('| folder | generator run | checkpoint | images |', '|---|---|---|---:|');
    for (const g of c.generators) L.push(`| ${cell(g.dir)} | ${cell(g.run ?? 'unknown')} | ${cell(g.checkpoint ?? 'unknown')} | ${g.images} |`);
    L.push('', 'Synthetic images are copied byte for byte; their seed and index are in the manifest `source` column.', '');
  }
  if (c.memorization) L.push(...memorizationLines(c.memorization, c.leaks ?? 0));

  L.push('## Augmentation', '');
  if (c.augment.length === 0) L.push('Off.', '');
  else {
    const kinds = c.augment.map((k) => k === 'flip' ? 'mirror left-right / top-bottom' : k === 'rot90' ? 'rotations by 90°, 180°, 270°'
      : `colour: brightness and saturation ×(1 ± ${c.colorLimits.brightness}), hue ± ${c.colorLimits.hueDegrees}°`);
    L.push(`Of real training images, with sharp: ${kinds.join('; ')}. Each augmented image's transform is in the manifest.`, '');
  }
  L.push(`Mix: \`${c.mix}\`; seed ${c.seed}; ${c.cap ? 'classes with more real images than the target were subsampled (--cap)' : 'classes with more real images than the target were kept whole'}.`, '');
  const notes = c.plan.classes.filter((p) => p.notes.length);
  if (notes.length) {
    L.push('Per class:', '');
    for (const p of notes) L.push(`- ${p.class}: ${p.notes.join('; ')}`);
    L.push('');
  }

  if (c.skipped.length) {
    L.push('## Skipped inputs', '');
    for (const s of c.skipped) L.push(`- \`${s.file}\`: ${s.reason}`);
    L.push('');
  }
  if (c.warnings.length) {
    L.push('## Warnings', '');
    for (const w of c.warnings) L.push(`- ${w}`);
    L.push('');
  }
  return L.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd() + '\n';
}

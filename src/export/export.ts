/**
 * `exportDataset`: a class-balanced ImageFolder dataset for downstream
 * training, with every image's origin on record.
 *
 * Phases, in order: check the options, and that the output touches no input
 * → read the real images and decode each (check-real; an unreadable one is
 * skipped with a warning) → collect the synthetic folders' images → check as
 * many of them as each class needs (check-synthetic) → plan the training mix
 * per class → name every output file → count → look for the real images'
 * licence and citation → write everything into a staging folder beside `out`
 * with bounded concurrency, then rename it into place (write). Inputs are
 * only ever read.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { buildDirAtomic, assertWritableOutput } from '../util/atomic.js';
import { CellganError, describeFsError } from '../util/errors.js';
import { hashBytes } from '../util/hash.js';
import { silentLogger } from '../util/log.js';
import * as v from '../util/validate.js';
import { resolveOptions, text, boolean, seed, integer, oneOf, listOf, FORCE_OPTION, type OptionTable } from '../util/options.js';
import { VERSION } from '../version.js';
import { loadDataset, readSplit, selectSplit, LABELS_OPTION } from '../data/dataset.js';
import { describeDecodeFailure, isReasonless, openImage } from '../data/image.js';
import { NEAR_THRESHOLD_OPTION } from '../data/inspect.js';
import {
  buildHeldOut, buildReference, calibrateMemorization, closestReal, describeLeak, findLeak, readSynthetic,
  type HeldOutReference, type Leak, type MemorizationCalibration, type MemorizationFlag, type RealReference,
} from '../data/leaks.js';
import { SPLIT_NAMES, type Dataset, type DatasetItem, type FileProblem, type SplitName } from '../data/types.js';
import { formatCsv } from '../data/csv.js';
import { AUGMENT_KINDS, COLOR_LIMITS, applyTransform, readRgb, toPlainPng, transformToString, type AugmentKind } from './classic.js';
import { planExport, mixToString, resolvePerClass, type Mix, type Plan } from './plan.js';
import { Rng } from '../util/rng.js';
import { forEachBounded } from '../util/pool.js';
import { scanSyntheticFolder, syntheticSource, type SyntheticFolder, type SyntheticImage } from '../data/synthetic.js';
import { findSourceDocs, renderCard, type SourceDoc } from './card.js';
import {
  EXPORT_FORMATS, ORIGINS,
  type ExportCounts, type ExportFormat, type ExportManifestRow, type ExportMemorization, type ExportOptions, type ExportResult, type GeneratorUse, type Origin,
} from './types.js';

/**
 * The command line types --seed and --concurrency as strings (the check parses
 * them), so a bad value is quoted back as typed rather than as yargs' NaN.
 */
const typedAsString = { type: 'string' } as const;

/** `exportDataset`'s options and `cellgan export`'s (src/util/options.ts). */
export const EXPORT_OPTIONS = {
  data: { ...text, required: true, help: 'real images: ImageFolder root (<class>/<image>); with --labels, a folder a relative --labels path is also looked for in (the CSV\'s paths are relative to the CSV)' },
  labels: LABELS_OPTION,
  split: { ...text, required: true, help: 'split file from `cellgan split`' },
  synthetic: {
    type: 'string', array: true, default: [], help: 'synthetic folder(s) from `cellgan generate` (comma-separated or repeated)',
    check: (value: unknown, name: string): string[] => {
      const folders = (Array.isArray(value) ? value : [value]).flatMap((s) => {
        if (typeof s !== 'string') throw v.invalid(name, 'folder paths (comma-separated)', value);
        return s.split(',').map((x) => x.trim()).filter(Boolean);
      });
      if (new Set(folders.map((s) => path.resolve(s))).size !== folders.length) throw v.invalid(name, 'each folder once', value);
      return folders;
    },
  },
  perClass: {
    type: 'string', required: true, help: 'training images per class: a number, or "max" (largest real class)',
    check: (value: unknown, name: string): number | 'max' => {
      if (value === 'max') return 'max';
      try { return v.integer(name, value, 1, 10_000_000); } catch { throw v.invalid(name, 'an integer of at least 1 or "max"', value); }
    },
  },
  augment: {
    type: 'string', default: AUGMENT_KINDS.join(','), help: 'augmentations of real images: flip, rot90, color (comma-separated), or "none"',
    // In AUGMENT_KINDS' order whatever order they were named in.
    check: (value: unknown, name: string): AugmentKind[] => listOf(AUGMENT_KINDS).check(value, name).sort((a, b) => AUGMENT_KINDS.indexOf(a) - AUGMENT_KINDS.indexOf(b)),
  },
  mix: {
    type: 'string', default: 'synthetic-first', help: 'how to fill a class: synthetic-first, augment-first, or ratio:<share of synthetic, e.g. 0.5>',
    check: (value: unknown): Mix => parseMix(value),
  },
  out: { ...text, required: true, help: 'output folder (built beside it, then renamed into place)' },
  format: {
    ...oneOf(EXPORT_FORMATS), default: 'imagefolder',
    help: 'imagefolder, or hf (adds Hugging Face metadata.jsonl per split and YAML front matter on README.md: licence, task, the classes as a ClassLabel)',
  },
  seed: { ...seed, ...typedAsString, default: 0, help: 'seed of every random choice' },
  cap: { ...boolean, default: false, help: 'subsample classes with more than N real training images down to N' },
  force: { ...FORCE_OPTION, default: false },
  citation: { ...text, help: 'citation of the real images for the dataset card (default: read from README/CITATION beside the data)' },
  license: { ...text, help: 'licence of the real images for the dataset card (default: read from README/LICENSE beside the data)' },
  command: { ...text, cli: false, help: 'the command line that made the export, recorded in the card and dataset.json' },
  concurrency: { ...integer(1, 64), ...typedAsString, default: 4, help: 'images processed at once' },
  nearThreshold: {
    ...NEAR_THRESHOLD_OPTION,
    help: 'distance (1 − cosine of flip/rotation-invariant fingerprints) at which a synthetic image counts as a copy of a real one',
  },
  dropLeaks: { ...boolean, default: false, help: 'leave out and list synthetic images that copy a real validation/test image (instead of refusing them)' },
  excludeMemorized: {
    ...boolean, default: false,
    help: 'leave out and list synthetic images flagged as probable copies of real training images (the card states the rate either way)',
  },
} satisfies OptionTable;

type ResolvedOptions = ReturnType<typeof resolveExportOptions>;

/** Checks every option up front (sharp-style messages) and fills in defaults. */
export function resolveExportOptions(opts: ExportOptions) {
  if (!opts || typeof opts !== 'object') throw v.invalid('options', 'an object', opts);
  return resolveOptions(EXPORT_OPTIONS, opts);
}

export function parseMix(value: unknown): Mix {
  if (value && typeof value === 'object' && 'kind' in value) {
    const m = value as Mix;
    if (m.kind === 'synthetic-first' || m.kind === 'augment-first') return { kind: m.kind };
    if (m.kind === 'ratio') return { kind: 'ratio', share: v.number('--mix ratio', m.share, 0, 1) };
  }
  if (value === 'synthetic-first' || value === 'augment-first') return { kind: value };
  const m = typeof value === 'string' ? /^ratio:(.+)$/.exec(value.trim()) : null;
  const share = m ? Number(m[1]) : NaN;
  if (!m || !Number.isFinite(share) || share < 0 || share > 1) {
    throw v.invalid('--mix', '"synthetic-first", "augment-first" or "ratio:<share of synthetic between 0 and 1>"', value);
  }
  return { kind: 'ratio', share };
}

/** Paths equal or one inside the other. */
function overlaps(a: string, b: string): boolean {
  const rel = path.relative(a, b);
  const back = path.relative(b, a);
  const inside = (r: string) => r === '' || (!r.startsWith('..') && !path.isAbsolute(r));
  return inside(rel) || inside(back);
}

async function real(p: string): Promise<string> {
  try { return await fs.realpath(p); } catch { return path.resolve(p); }
}

/** The output must not touch any input: `--force` would otherwise replace the data itself. */
async function assertOutputApart(o: ResolvedOptions): Promise<void> {
  const out = await real(o.out);
  const inputs: [string, string][] = [['--data', o.data], ...o.synthetic.map((s): [string, string] => ['--synthetic', s]), ['--split', o.split]];
  if (o.labels) inputs.push(['--labels', o.labels]);
  for (const [name, p] of inputs) {
    if (overlaps(out, await real(p))) throw new CellganError(`the output folder overlaps the ${name} input ${p}; choose an --out outside every input`, { file: o.out, exitCode: 2 });
  }
}

interface Probe { convert: boolean }

/** Fully decodes an image (so truncated files are caught now, not halfway through writing) and says whether loaders need it re-encoded. */
async function probeImage(abs: string): Promise<Probe> {
  const bytes = await fs.readFile(abs).catch((err: unknown) => { throw new Error(`cannot read: ${describeFsError(err)}`); });
  let meta: sharp.Metadata;
  try { meta = await (await openImage(bytes)).metadata(); } catch (err) { throw new Error(describeDecodeFailure(err, bytes)); }
  await decodeWithReason(bytes);
  return { convert: needsConversion(abs, meta) };
}

/**
 * A failure whose reason libvips lost (see describeDecodeFailure) is retried a
 * few times to recover the reason, then explained from the bytes.
 */
async function decodeWithReason(bytes: Buffer): Promise<void> {
  let last: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await readRgb(bytes);
      return;
    } catch (err) {
      last = err;
      if (!isReasonless((err as Error).message)) throw err;
    }
  }
  throw new Error(describeDecodeFailure(last, bytes));
}

/**
 * JPEG/PNG files in 8-bit sRGB or grayscale are copied byte for byte; anything
 * else (BMP, TIFF, CMYK, 16-bit, a name whose extension lies about the
 * format) is re-encoded as PNG so torchvision, Keras and Hugging Face all load it.
 */
function needsConversion(file: string, meta: sharp.Metadata): boolean {
  const ext = path.extname(file).toLowerCase();
  const formatOk = (meta.format === 'jpeg' && (ext === '.jpg' || ext === '.jpeg')) || (meta.format === 'png' && ext === '.png');
  const spaceOk = meta.space === 'srgb' || meta.space === 'b-w';
  return !formatOk || !spaceOk || meta.depth !== 'uchar' || (meta.pages ?? 1) > 1;
}

type Task =
  | { origin: 'real'; split: SplitName; cls: string; out: string; item: DatasetItem; convert: boolean }
  | { origin: 'synthetic'; split: 'train'; cls: string; out: string; img: SyntheticImage; convert: boolean }
  | { origin: 'augmented'; split: 'train'; cls: string; out: string; item: DatasetItem; transform: string; plan: Plan['classes'][number]['augmented'][number] };

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const bySynthetic = (a: SyntheticImage, b: SyntheticImage) => a.dirIndex - b.dirIndex || cmp(a.file, b.file);

/** File names safe everywhere: no separators, no control characters. */
function safeName(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f<>:"|?*\\]/g, '_').replace(/\//g, '__');
}

/** `item.file` without its class folder, flattened. */
function realName(item: DatasetItem, cls: string): string {
  const rel = item.file.startsWith(`${cls}/`) ? item.file.slice(cls.length + 1) : item.file;
  return safeName(rel);
}

function withExt(name: string, ext: string): string {
  const e = path.posix.extname(name);
  return (e ? name.slice(0, -e.length) : name) + ext;
}

/** Exports the dataset; one function per phase (see the module comment). */
export async function exportDataset(opts: ExportOptions): Promise<ExportResult> {
  const o = resolveExportOptions(opts);
  const logger = opts.logger ?? silentLogger;
  const warnings: string[] = [];
  const warn = (msg: string) => { warnings.push(msg); logger.warn(msg); };

  await assertOutputApart(o);
  // Refuse early, before minutes of checking; buildDirAtomic checks again.
  await assertWritableOutput(o.out, o.force);

  const real = await readRealImages(o, opts.onProgress);
  const candidates = await collectSynthetic(o, real, warn);
  const checked = await checkSynthetic(o, real, candidates, opts.onProgress, warn);
  const plan = planExport({ classes: real.classes, realTrain: real.train, synthetic: checked.chosen, perClass: o.perClass, mix: o.mix, augment: o.augment, cap: o.cap, seed: o.seed });
  const tasks = nameOutputs(plan, real, checked.probes);
  const { counts, generators } = countOutputs(tasks, real.classes);

  real.skipped.sort((a, b) => cmp(a.file, b.file) || cmp(a.reason, b.reason));
  for (const p of real.skipped) logger.warn(`${p.file}: ${p.reason}`);
  const sourceDocs = await findProvenance(o, real.dataset, warn);

  const written = { o, real, plan, tasks, counts, generators, leaks: checked.leaks, memorization: checked.memorization, sourceDocs, warnings };
  const peakInFlight = await writeExport(written, opts.onProgress);
  return {
    out: path.resolve(o.out), perClass: plan.perClass, classes: real.classes, counts, files: tasks.length, generators,
    skipped: real.skipped, warnings, peakInFlight, leaks: checked.leaks, memorization: checked.memorization,
  };
}

/** The readable real images of each split, and every input image left out so far (with why). */
interface RealImages {
  dataset: Dataset;
  classes: string[];
  bySplit: Map<SplitName, DatasetItem[]>;
  /** The training split's images by class. */
  train: Map<string, DatasetItem[]>;
  probes: Map<string, Probe>;
  skipped: FileProblem[];
}

/** Reads the data and split, and decodes every real image of every split (check-real). */
async function readRealImages(o: ResolvedOptions, onProgress: ExportOptions['onProgress']): Promise<RealImages> {
  const dataset = await loadDataset(o.data, { labels: o.labels });
  const splitFile = await readSplit(o.split);
  const bySplit = new Map<SplitName, DatasetItem[]>();
  for (const s of SPLIT_NAMES) bySplit.set(s, selectSplit(dataset, splitFile, s));
  const skipped: FileProblem[] = dataset.skipped.map((p) => ({ ...p }));
  const classes = [...dataset.classes].sort(cmp);

  const all = SPLIT_NAMES.flatMap((s) => bySplit.get(s)!.map((item) => ({ split: s, item })));
  const probes = new Map<string, Probe>();
  let done = 0;
  await forEachBounded(all, o.concurrency, async ({ item }) => {
    try {
      probes.set(item.file, await probeImage(item.abs));
    } catch (err) {
      skipped.push({ file: path.join(o.data, item.file), reason: `${(err as Error).message} (skipped)` });
    }
    onProgress?.('check-real', ++done, all.length);
  });
  if (probes.size === 0) throw new CellganError('no readable real image in the split', { file: o.data });
  for (const s of SPLIT_NAMES) bySplit.set(s, bySplit.get(s)!.filter((i) => probes.has(i.file)));

  const train = new Map<string, DatasetItem[]>(classes.map((c) => [c, []]));
  for (const item of bySplit.get('train')!) train.get(item.label)?.push(item);
  return { dataset, classes, bySplit, train, probes, skipped };
}

/** The synthetic folders' images by class; only classes of the dataset are used. */
async function collectSynthetic(o: ResolvedOptions, real: RealImages, warn: (msg: string) => void): Promise<Map<string, SyntheticImage[]>> {
  const classSet = new Set(real.classes);
  const folders: SyntheticFolder[] = [];
  for (let i = 0; i < o.synthetic.length; i++) folders.push(await scanSyntheticFolder(o.synthetic[i], i + 1));
  const candidates = new Map<string, SyntheticImage[]>(real.classes.map((c) => [c, []]));
  for (const f of folders) {
    real.skipped.push(...f.skipped);
    if (!f.fromManifest) warn(`${f.dir}: no manifest.jsonl, so synthetic images are recorded by path only (no run/checkpoint/seed)`);
    const unknown = new Set<string>();
    for (const img of f.images) {
      if (classSet.has(img.class)) candidates.get(img.class)!.push(img);
      else unknown.add(img.class);
    }
    for (const c of [...unknown].sort(cmp)) warn(`${f.dir}: class "${c}" is not in the data; its synthetic images are ignored`);
  }
  return candidates;
}

/**
 * Picks each class's usable synthetic images (check-synthetic): decodable, no
 * copy of a real val/test image (leak), and, with --exclude-memorized, no
 * probable copy of a real training image.
 *
 * A class never takes more synthetic images than it lacks, so only that
 * many are checked: walk a seeded order of its candidates and stop once
 * enough readable ones are found (a folder of 100,000 costs no more than
 * the few hundred needed).
 */
async function checkSynthetic(
  o: ResolvedOptions, real: RealImages, candidates: Map<string, SyntheticImage[]>,
  onProgress: ExportOptions['onProgress'], warn: (msg: string) => void,
): Promise<{ chosen: Map<string, SyntheticImage[]>; probes: Map<SyntheticImage, Probe>; leaks: Leak[]; memorization: ExportMemorization | null }> {
  const { bySplit, skipped } = real;
  // Synthetic images are checked against the real val/test images (leaks) and the real training images (memorisation).
  let heldOut: HeldOutReference | undefined, trainRef: RealReference | undefined, calibration: MemorizationCalibration | undefined;
  const leaks: Leak[] = [];
  const memFlags: MemorizationFlag[] = [];
  let synthChecked = 0;
  if ([...candidates.values()].some((l) => l.length)) {
    heldOut = await buildHeldOut(bySplit.get('val')!, bySplit.get('test')!, { concurrency: o.concurrency });
    trainRef = await buildReference(bySplit.get('train')!, { concurrency: o.concurrency });
    calibration = await calibrateMemorization(trainRef, [...bySplit.get('val')!, ...bySplit.get('test')!], o.nearThreshold, { concurrency: o.concurrency });
  }
  /** Null when the synthetic image may be used; else why it is left out (or a CellganError for a leak without --drop-leaks). */
  const guard = async (img: SyntheticImage): Promise<string | null> => {
    const shown = path.join(img.dir, img.file);
    const read = await readSynthetic(img.abs);
    const leak = findLeak(heldOut!, shown, read, o.nearThreshold);
    if (leak) {
      if (!o.dropLeaks) throw new CellganError(`${describeLeak(leak)}; a training set must not contain validation or test images (pass --drop-leaks to leave such images out and list them)`, { file: img.abs });
      leaks.push(leak);
      return `${describeLeak(leak)}; left out (--drop-leaks)`;
    }
    synthChecked++;
    const copy = closestReal(trainRef!, read, calibration!.threshold);
    if (copy) {
      memFlags.push({ file: shown, class: img.class, nearest: copy.file, distance: +copy.distance.toFixed(6) });
      if (o.excludeMemorized) return `probable copy of the real training image ${copy.file} (distance ${copy.distance.toFixed(4)} ≤ ${calibration!.threshold.toFixed(4)}); left out (--exclude-memorized)`;
    }
    return null;
  };

  const N = resolvePerClass(o.perClass, real.train);
  const needs = real.classes.map((c) => ({ cls: c, need: Math.max(0, N - (real.train.get(c)?.length ?? 0)) }));
  const rootRng = new Rng(o.seed);
  const probes = new Map<SyntheticImage, Probe>();
  const chosen = new Map<string, SyntheticImage[]>(real.classes.map((c) => [c, []]));
  const checkTotal = needs.reduce((n, x) => n + Math.min(x.need, candidates.get(x.cls)!.length), 0);
  let done = 0;
  for (const { cls, need } of needs) {
    const order = rootRng.fork('synthetic-check', cls).shuffle([...candidates.get(cls)!].sort(bySynthetic));
    const found = chosen.get(cls)!;
    let pos = 0;
    while (found.length < need && pos < order.length) {
      const batch = order.slice(pos, pos + Math.max(o.concurrency, Math.min(256, need - found.length)));
      pos += batch.length;
      const ok = new Array<boolean>(batch.length).fill(false);
      await forEachBounded(batch, o.concurrency, async (img, i) => {
        try {
          probes.set(img, await probeImage(img.abs));
          const why = await guard(img);
          if (why) skipped.push({ file: path.join(img.dir, img.file), reason: why });
          else ok[i] = true;
        } catch (err) {
          if (err instanceof CellganError) throw err;
          skipped.push({ file: path.join(img.dir, img.file), reason: `${(err as Error).message} (skipped)` });
        }
        onProgress?.('check-synthetic', Math.min(++done, checkTotal), checkTotal);
      });
      for (let i = 0; i < batch.length && found.length < need; i++) if (ok[i]) found.push(batch[i]);
    }
    found.sort(bySynthetic);
  }

  memFlags.sort((a, b) => a.distance - b.distance || cmp(a.file, b.file));
  const memorization: ExportMemorization | null = calibration
    ? { checked: synthChecked, flagged: memFlags, rate: synthChecked ? memFlags.length / synthChecked : 0, excluded: o.excludeMemorized, calibration }
    : null;
  if (memorization && memFlags.length && !o.excludeMemorized) {
    warn(`${memFlags.length} of ${synthChecked} synthetic images checked are probable copies of real training images (e.g. ${memFlags[0].file} ≈ ${memFlags[0].nearest}, distance ${memFlags[0].distance.toFixed(4)}); --exclude-memorized leaves them out`);
  }
  return { chosen, probes, leaks, memorization };
}

/** One file to write, in the order the manifest lists them; `out` is its path in the export. */
function nameOutputs(plan: Plan, real: RealImages, synthProbes: Map<SyntheticImage, Probe>): Task[] {
  // Deterministic, unique output names (compared case-insensitively, for macOS and Windows).
  const taken = new Set<string>();
  const claim = (split: SplitName, cls: string, name: string): string => {
    const dir = `${split}/${safeName(cls)}`;
    let candidate = `${dir}/${name}`;
    for (let n = 2; taken.has(candidate.toLowerCase()); n++) {
      const e = path.posix.extname(name);
      candidate = `${dir}/${e ? name.slice(0, -e.length) : name}~${n}${e}`;
    }
    taken.add(candidate.toLowerCase());
    return candidate;
  };
  const tasks: Task[] = [];
  for (const s of SPLIT_NAMES) {
    const items = s === 'train' ? plan.classes.flatMap((c) => c.real) : real.bySplit.get(s)!;
    for (const item of [...items].sort((a, b) => cmp(a.label, b.label) || cmp(a.file, b.file))) {
      const convert = real.probes.get(item.file)!.convert;
      const name = convert ? withExt(realName(item, item.label), '.png') : realName(item, item.label);
      tasks.push({ origin: 'real', split: s, cls: item.label, out: claim(s, item.label, name), item, convert });
    }
  }
  for (const c of plan.classes) {
    for (const img of c.synthetic) {
      const rel = img.file.startsWith(`${img.class}/`) ? img.file.slice(img.class.length + 1) : img.file;
      const convert = synthProbes.get(img)!.convert;
      const name = `syn${img.dirIndex}_${safeName(convert ? withExt(rel, '.png') : rel)}`;
      tasks.push({ origin: 'synthetic', split: 'train', cls: c.class, out: claim('train', c.class, name), img, convert });
    }
    for (const a of c.augmented) {
      const stem = withExt(realName(a.source, c.class), '');
      const name = `aug_${stem}_${String(a.use).padStart(2, '0')}.png`;
      tasks.push({ origin: 'augmented', split: 'train', cls: c.class, out: claim('train', c.class, name), item: a.source, transform: transformToString(a.transform), plan: a });
    }
  }
  return tasks;
}

/** Files by split × class × origin, and the generators (folder, run, checkpoint) the synthetic ones came from. */
function countOutputs(tasks: Task[], classes: string[]): { counts: ExportCounts; generators: GeneratorUse[] } {
  const counts = emptyCounts(classes);
  const generators = new Map<string, GeneratorUse>();
  for (const t of tasks) {
    counts[t.split][t.cls][t.origin]++;
    if (t.origin === 'synthetic') {
      const key = JSON.stringify([t.img.dir, t.img.run ?? null, t.img.checkpoint ?? null]);
      const g = generators.get(key) ?? { dir: t.img.dir, run: t.img.run, checkpoint: t.img.checkpoint, images: 0 };
      g.images++;
      generators.set(key, g);
    }
  }
  return { counts, generators: [...generators.entries()].sort((a, b) => cmp(a[0], b[0])).map(([, g]) => g) };
}

/** The README/LICENSE/citation files beside the real images; warns when the card could state no licence or citation. */
async function findProvenance(o: ResolvedOptions, dataset: Dataset, warn: (msg: string) => void): Promise<SourceDoc[]> {
  const sourceDocs = await findSourceDocs(dataset.root, o.labels ? path.dirname(path.resolve(o.labels)) : undefined);
  if (!o.license && !sourceDocs.some((d) => d.kind === 'license' || /licen[cs]e/i.test(d.text))) {
    warn('no licence found for the real images (no README/LICENSE beside the data mentioning one): pass --license so the dataset card can state it');
  }
  if (!o.citation && !sourceDocs.some((d) => d.kind === 'citation' || /cit(e|ation)/i.test(d.text))) {
    warn('no citation found for the real images: pass --citation so the dataset card can state it');
  }
  return sourceDocs;
}

/** Everything the write phase puts into the export folder. */
interface ExportContent {
  o: ResolvedOptions; real: RealImages; plan: Plan; tasks: Task[]; counts: ExportCounts; generators: GeneratorUse[];
  leaks: Leak[]; memorization: ExportMemorization | null; sourceDocs: SourceDoc[]; warnings: string[];
}

/**
 * Writes the images, manifests, dataset.json and the dataset card into a
 * staging folder, then renames it into place (write). Returns the most
 * images in flight at once.
 */
async function writeExport(x: ExportContent, onProgress: ExportOptions['onProgress']): Promise<number> {
  const { o, tasks, real: { classes } } = x;
  let peakInFlight = 0;
  await buildDirAtomic(o.out, async (staging) => {
    const rows: ExportManifestRow[] = [];
    // Every class in every split, even with no image: the same class_to_idx for each split.
    const dirs = new Set([...tasks.map((t) => path.posix.dirname(t.out)), ...SPLIT_NAMES.flatMap((s) => classes.map((c) => `${s}/${safeName(c)}`))]);
    for (const d of [...dirs].sort(cmp)) await fs.mkdir(path.join(staging, d), { recursive: true });
    let written = 0;
    const pool = await forEachBounded(tasks, o.concurrency, async (t) => {
      const inputFile = t.origin === 'synthetic' ? t.img.abs : t.item.abs;
      let bytes: Buffer;
      try {
        if (t.origin === 'augmented') bytes = await applyTransform(inputFile, t.plan.transform);
        else {
          const raw = await fs.readFile(inputFile);
          bytes = t.convert ? await toPlainPng(raw) : raw;
        }
      } catch (err) {
        // It was readable a moment ago (checked above): it changed under us; stop rather than export a hole.
        throw new CellganError(`became unreadable during the export (${(err as Error).message}); nothing was written to ${o.out}`, { file: inputFile, cause: err });
      }
      await fs.writeFile(path.join(staging, t.out), bytes);
      rows.push({
        file: t.out, split: t.split, class: t.cls, origin: t.origin,
        source: t.origin === 'synthetic' ? syntheticSource(t.img) : t.item.file,
        transform: t.origin === 'augmented' ? t.transform : t.convert ? 'convert:png' : 'none',
        sha256: hashBytes(bytes),
      });
      onProgress?.('write', ++written, tasks.length);
    });
    peakInFlight = pool.peakInFlight;
    rows.sort((a, b) => cmp(a.file, b.file));

    await fs.writeFile(path.join(staging, 'manifest.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : ''));
    await fs.writeFile(path.join(staging, 'manifest.csv'), toCsv(rows));
    if (o.format === 'hf') {
      for (const s of SPLIT_NAMES) {
        const inSplit = rows.filter((r) => r.split === s);
        if (!inSplit.length) continue;
        const lines = inSplit.map((r) => JSON.stringify({ file_name: r.file.slice(s.length + 1), label: r.class, origin: r.origin, source: r.source, transform: r.transform }));
        await fs.writeFile(path.join(staging, s, 'metadata.jsonl'), lines.join('\n') + '\n');
      }
    }
    const info = { ...datasetInfo(o, x.plan, classes, x.counts, x.generators, x.real.skipped, x.warnings, x.sourceDocs.map((d) => d.name)), leaks: x.leaks, memorization: x.memorization };
    await fs.writeFile(path.join(staging, 'dataset.json'), JSON.stringify(info, null, 2) + '\n');
    await fs.writeFile(path.join(staging, 'README.md'), renderCard({
      title: path.basename(path.resolve(o.out)), data: o.data, labels: o.labels, split: o.split, perClass: x.plan.perClass, classes, counts: x.counts,
      generators: x.generators, plan: x.plan, mix: mixToString(o.mix), augment: o.augment, colorLimits: COLOR_LIMITS, format: o.format,
      seed: o.seed, cap: o.cap, command: o.command, citation: o.citation, license: o.license, sourceDocs: x.sourceDocs, skipped: x.real.skipped, warnings: x.warnings, version: VERSION,
      memorization: x.memorization, leaks: x.leaks.length,
    }));
  }, { force: o.force });
  return peakInFlight;
}

function emptyCounts(classes: string[]): ExportCounts {
  const counts = {} as ExportCounts;
  for (const s of SPLIT_NAMES) {
    counts[s] = {};
    for (const c of classes) counts[s][c] = { real: 0, synthetic: 0, augmented: 0 };
  }
  return counts;
}

const CSV_COLUMNS: (keyof ExportManifestRow)[] = ['file', 'split', 'class', 'origin', 'source', 'transform', 'sha256'];

export function toCsv(rows: ExportManifestRow[]): string {
  return formatCsv([CSV_COLUMNS, ...rows.map((r) => CSV_COLUMNS.map((c) => String(r[c])))]);
}

function datasetInfo(
  o: ResolvedOptions, plan: Plan, classes: string[], counts: ExportCounts, generators: GeneratorUse[],
  skipped: FileProblem[], warnings: string[], sourceDocs: string[],
) {
  const totals = { train: 0, val: 0, test: 0, all: 0 } as Record<SplitName | 'all', number>;
  const byOrigin = { real: 0, synthetic: 0, augmented: 0 } as Record<Origin, number>;
  for (const s of SPLIT_NAMES) for (const c of classes) for (const k of ORIGINS) {
    totals[s] += counts[s][c][k]; totals.all += counts[s][c][k]; byOrigin[k] += counts[s][c][k];
  }
  return {
    tool: 'cellgan',
    version: VERSION,
    command: o.command ?? null,
    options: {
      data: o.data, labels: o.labels ?? null, split: o.split, synthetic: o.synthetic,
      perClass: o.perClass, augment: o.augment, mix: mixToString(o.mix), format: o.format, seed: o.seed, cap: o.cap,
      citation: o.citation ?? null, license: o.license ?? null,
    },
    perClass: plan.perClass,
    classes,
    counts,
    totals: { ...totals, byOrigin },
    classNotes: Object.fromEntries(plan.classes.map((c) => [c.class, c.notes])),
    augmentation: { kinds: o.augment, colorLimits: o.augment.includes('color') ? COLOR_LIMITS : null },
    generators,
    sourceDocs,
    skipped,
    skippedPolicy: 'unreadable or undecodable input images are skipped with a warning and listed here; an image that becomes unreadable while writing stops the export',
    warnings,
  };
}

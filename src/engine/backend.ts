/**
 * Chooses the tfjs backend. Order when not asked for one: tfjs-node-gpu
 * (CUDA), tfjs-node (libtensorflow on CPU), wasm, cpu. The two native ones
 * are optional dependencies whose install downloads libtensorflow, so on
 * machines without that download they are simply absent.
 *
 * Asking for a backend explicitly (`--backend` / CELLGAN_BACKEND) never falls
 * back silently: if it cannot load, the error says why.
 */
import { createRequire } from 'node:module';
import { tf } from './tf.js';
import { registerCustomKernels } from './kernels/index.js';
import { CellganError } from '../util/errors.js';

export const BACKENDS = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface BackendInfo {
  /** cellgan's name for it (what `--backend` takes). */
  name: BackendName;
  /** tfjs' registered backend name. */
  tfBackend: string;
  /** The npm package that provides it. */
  package: string;
  tfjsVersion: string;
  /** Kernels cellgan registered on top of the backend's own. */
  customKernels: string[];
  /** Backends tried before this one, with why they did not load. */
  skipped: { name: BackendName; reason: string }[];
}

const PACKAGES: Record<BackendName, string> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs-backend-cpu',
};

const require = createRequire(import.meta.url);
let current: BackendInfo | undefined;

function shortReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'MODULE_NOT_FOUND' || e?.code === 'ERR_MODULE_NOT_FOUND') {
    return 'not installed (its install downloads libtensorflow, which failed or was skipped)';
  }
  return String(e?.message ?? err).split('\n')[0];
}

async function tryLoad(name: BackendName): Promise<void> {
  if (name === 'tensorflow-gpu' || name === 'tensorflow') {
    // Both packages register tfjs backend 'tensorflow' in the shared tfjs-core.
    require(PACKAGES[name]);
    if (!(await tf.setBackend('tensorflow'))) throw new Error('libtensorflow failed to initialise');
    return;
  }
  if (!(await tf.setBackend(name))) throw new Error(`tfjs could not initialise the ${name} backend`);
}

export function isBackendName(value: unknown): value is BackendName {
  return typeof value === 'string' && (BACKENDS as readonly string[]).includes(value);
}

/**
 * Picks and initialises a backend. `requested` (else CELLGAN_BACKEND, else
 * 'auto') names one of BACKENDS or 'auto'.
 */
export async function initBackend(requested?: BackendName | 'auto'): Promise<BackendInfo> {
  const want = requested ?? ((process.env.CELLGAN_BACKEND || undefined) as BackendName | 'auto' | undefined) ?? 'auto';
  if (want !== 'auto' && !isBackendName(want)) {
    throw new CellganError(`unknown backend ${JSON.stringify(want)}; expected auto or one of ${BACKENDS.join(', ')}`, { exitCode: 2 });
  }
  if (current && (want === 'auto' || want === current.name) && tf.getBackend() === current.tfBackend) return current;

  const candidates: BackendName[] = want === 'auto' ? [...BACKENDS] : [want];
  const skipped: BackendInfo['skipped'] = [];
  for (const name of candidates) {
    try {
      await tryLoad(name);
    } catch (err) {
      const reason = shortReason(err);
      if (want !== 'auto') {
        throw new CellganError(`backend ${name} (${PACKAGES[name]}) cannot be used: ${reason}`, { exitCode: 2, cause: err });
      }
      skipped.push({ name, reason });
      continue;
    }
    await tf.ready();
    const tfBackend = tf.getBackend();
    current = {
      name, tfBackend, package: PACKAGES[name], tfjsVersion: tf.version.tfjs,
      customKernels: registerCustomKernels(tfBackend), skipped,
    };
    return current;
  }
  throw new CellganError(`no tfjs backend could be loaded: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}

/** The backend chosen by the last initBackend call, if any. */
export function currentBackend(): BackendInfo | undefined {
  return current && tf.getBackend() === current.tfBackend ? current : undefined;
}

let deferred: { requested?: BackendName | 'auto'; onInit?: (info: BackendInfo) => void } | undefined;

/**
 * Names the backend the next {@link ensureBackend} loads, without loading it
 * now, and a callback for when it has loaded. The CLI uses it so that a
 * command's options are checked (by the library, before it needs tfjs)
 * before the backend loads and says which it is.
 */
export function deferBackend(requested?: BackendName | 'auto', onInit?: (info: BackendInfo) => void): void {
  deferred = { requested, onInit };
}

/** Initialises the default (or deferred) backend if none was chosen yet. */
export async function ensureBackend(): Promise<BackendInfo> {
  const have = currentBackend();
  if (have) return have;
  const d = deferred;
  deferred = undefined;
  const info = await initBackend(d?.requested);
  d?.onInit?.(info);
  return info;
}

export function describeBackend(info: BackendInfo): string {
  return `${info.name} (${info.package}, tfjs ${info.tfjsVersion}${info.customKernels.length ? `, custom kernels: ${info.customKernels.join(', ')}` : ''})`;
}

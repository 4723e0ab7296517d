/**
 * Sending a model's weights to workers, only those whose data changed since
 * each worker last received them. A tfjs variable gets new data (a new
 * dataId) when it is assigned, so identity of the data tells what changed:
 * after an optimizer step, every trained weight; after a D step, none of
 * G's trained weights (its batch-norm statistics, which that step updates, yes).
 */
import type { tf } from '../tf.js';
import { packTensors, type PackedTensors } from './tensors.js';

export class WeightBroadcast {
  /** Per worker: the data each weight had when it was last sent there. */
  private readonly sent: Map<string, object>[];

  constructor(workers: number) {
    this.sent = Array.from({ length: workers }, () => new Map());
  }

  /**
   * The weights each of the first `workers` workers lacks, packed once into
   * shared memory (undefined for a worker that is up to date). Records them
   * as sent: call once per round of calls to those workers.
   */
  payloads(weights: { name: string; value: tf.Tensor }[], workers = this.sent.length): (PackedTensors | undefined)[] {
    const stale = this.sent.slice(0, workers).map((sent) => new Set(weights.filter((w) => sent.get(w.name) !== w.value.dataId).map((w) => w.name)));
    const changed = weights.filter((w) => stale.some((s) => s.has(w.name)));
    if (!changed.length) return stale.map(() => undefined);
    const packed = packTensors(changed.map((w) => ({ name: w.name, shape: w.value.shape, values: w.value.dataSync() as Float32Array })), true);
    return stale.map((names, k) => {
      for (const w of changed) if (names.has(w.name)) this.sent[k].set(w.name, w.value.dataId);
      const entries = packed.entries.filter((e) => names.has(e.name));
      return entries.length ? { buffer: packed.buffer, entries } : undefined;
    });
  }
}

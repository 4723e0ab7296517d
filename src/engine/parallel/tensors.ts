/**
 * Moving named Float32 tensors between threads: packed into one buffer (a
 * SharedArrayBuffer when the same data goes to every worker, so it is not
 * cloned per worker) with a table of names, shapes and offsets.
 */
export interface PackedTensors {
  buffer: ArrayBuffer | SharedArrayBuffer;
  entries: { name: string; shape: number[]; offset: number; length: number }[];
}

export function packTensors(items: { name: string; shape: number[]; values: ArrayLike<number> }[], shared = false): PackedTensors {
  const total = items.reduce((s, t) => s + t.values.length, 0);
  const buffer = shared ? new SharedArrayBuffer(total * 4) : new ArrayBuffer(total * 4);
  const all = new Float32Array(buffer);
  const entries: PackedTensors['entries'] = [];
  let offset = 0;
  for (const t of items) {
    all.set(t.values, offset);
    entries.push({ name: t.name, shape: t.shape, offset, length: t.values.length });
    offset += t.values.length;
  }
  return { buffer, entries };
}

/** Views (no copy) of each packed tensor's values, by name. */
export function unpackTensors(p: PackedTensors): Map<string, { shape: number[]; values: Float32Array }> {
  const out = new Map<string, { shape: number[]; values: Float32Array }>();
  for (const e of p.entries) out.set(e.name, { shape: e.shape, values: new Float32Array(p.buffer, e.offset * 4, e.length) });
  return out;
}

/** Splits `rows` into `parts` contiguous [start, end) ranges as equal as possible (earlier ones larger). */
export function splitRows(rows: number, parts: number): [number, number][] {
  const out: [number, number][] = [];
  let start = 0;
  for (let i = 0; i < parts; i++) {
    const n = Math.floor(rows / parts) + (i < rows % parts ? 1 : 0);
    out.push([start, start + n]);
    start += n;
  }
  return out;
}

/**
 * Rows [start, end) of `values`, a batch of `rows` rows stored one after the
 * other (each values.length / rows long): a shard's part of a batch array.
 */
export function sliceRows<T extends { length: number; slice(start: number, end: number): T }>(values: T, rows: number, [start, end]: [number, number]): T {
  const row = values.length / rows;
  return values.slice(start * row, end * row);
}

/**
 * Σ_k coefficients[k] · packs[k], tensor by tensor (by name), in pack order so
 * the result does not depend on which worker answered first. Gradients of
 * shards add up (coefficients 1) or average (shard shares); so do batch-norm
 * moving statistics.
 */
export function weightedSum(packs: PackedTensors[], coefficients: number[]): Map<string, { shape: number[]; values: Float32Array }> {
  const sum = new Map<string, { shape: number[]; values: Float32Array }>();
  packs.forEach((p, k) => {
    const c = coefficients[k];
    for (const [name, t] of unpackTensors(p)) {
      const acc = sum.get(name) ?? { shape: t.shape, values: new Float32Array(t.values.length) };
      for (let j = 0; j < t.values.length; j++) acc.values[j] += c * t.values[j];
      sum.set(name, acc);
    }
  });
  return sum;
}


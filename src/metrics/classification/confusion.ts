/**
 * The confusion matrix every classification metric is computed from:
 * cm[t][p] = number of images of true class t predicted as p.
 */
export type ConfusionMatrix = number[][];

export function confusionMatrix(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, numClasses: number): ConfusionMatrix {
  if (yTrue.length !== yPred.length) throw new Error(`yTrue has ${yTrue.length} labels but yPred has ${yPred.length}`);
  const cm = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < yTrue.length; i++) {
    const t = yTrue[i], p = yPred[i];
    if (!(t >= 0 && t < numClasses && p >= 0 && p < numClasses)) throw new Error(`label out of range at ${i}: true ${t}, predicted ${p} (classes: ${numClasses})`);
    cm[t][p]++;
  }
  return cm;
}

/** One-vs-rest counts of class k. */
export function oneVsRest(cm: ConfusionMatrix, k: number): { tp: number; fp: number; fn: number; tn: number } {
  let total = 0, row = 0, col = 0;
  for (let i = 0; i < cm.length; i++) for (let j = 0; j < cm.length; j++) {
    total += cm[i][j];
    if (i === k) row += cm[i][j];
    if (j === k) col += cm[i][j];
  }
  const tp = cm[k][k];
  return { tp, fp: col - tp, fn: row - tp, tn: total - row - col + tp };
}

/** a / b, NaN when b is 0 (the metric is undefined, reported as null). */
export function ratio(a: number, b: number): number { return b === 0 ? NaN : a / b; }

/** A per-class metric as { class: value }. */
export function perClass(cm: ConfusionMatrix, classes: string[], f: (c: ReturnType<typeof oneVsRest>) => number): Record<string, number> {
  return Object.fromEntries(classes.map((c, k) => [c, f(oneVsRest(cm, k))]));
}

/** Mean over classes that have at least one true image (classes absent from the sample are skipped). */
export function macroOverPresent(cm: ConfusionMatrix, f: (c: ReturnType<typeof oneVsRest>) => number): number {
  const vals: number[] = [];
  for (let k = 0; k < cm.length; k++) {
    const c = oneVsRest(cm, k);
    if (c.tp + c.fn === 0) continue;
    const x = f(c);
    if (Number.isFinite(x)) vals.push(x);
  }
  return vals.length ? vals.reduce((a, b) => a + b, 0) / vals.length : NaN;
}

/**
 * Every custom kernel against the cpu backend's own kernel on random inputs:
 * strides 1 and 2 (and mixed), same/valid/explicit padding, odd sizes,
 * channel counts on both sides of the kernels' code-path switches.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, stockKernel, tf } from '../../src/engine/index.js';
import { chooseBpiMethod, phaseAxis } from '../../src/engine/kernels/conv2d-backprop-input.js';
import { tileInto } from '../../src/engine/kernels/tile.js';
import { Rng } from '../../src/util/rng.js';

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
interface ConvCase { x: [number, number, number, number]; k: [number, number]; co: number; s: [number, number]; pad: Pad }

const CASES: ConvCase[] = [
  { x: [2, 8, 8, 3], k: [4, 4], co: 5, s: [2, 2], pad: 'same' },
  { x: [3, 7, 7, 5], k: [4, 4], co: 4, s: [2, 2], pad: 'same' },
  { x: [2, 9, 7, 4], k: [3, 3], co: 6, s: [2, 2], pad: 'valid' },
  { x: [2, 8, 8, 4], k: [3, 3], co: 3, s: [2, 2], pad: 'valid' }, // forward conv ignores the last row/col
  { x: [1, 6, 5, 2], k: [3, 3], co: 4, s: [1, 1], pad: 'same' },
  { x: [2, 5, 6, 3], k: [2, 3], co: 2, s: [1, 1], pad: 'valid' },
  { x: [2, 9, 8, 3], k: [3, 3], co: 4, s: [2, 2], pad: [[0, 0], [1, 2], [2, 0], [0, 0]] },
  { x: [2, 8, 6, 3], k: [4, 3], co: 5, s: [2, 1], pad: 'same' },
  { x: [2, 7, 7, 3], k: [1, 1], co: 4, s: [2, 2], pad: 'valid' }, // k < stride: phases without taps
  { x: [2, 6, 10, 33], k: [4, 4], co: 17, s: [2, 2], pad: 'same' }, // ≥16 / >32 channel paths
  { x: [4, 16, 16, 16], k: [4, 4], co: 32, s: [2, 2], pad: 'same' },
];

const rng = new Rng(1234);
const randn = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.normal());
const size = (s: number[]): number => s.reduce((a, b) => a * b, 1);

function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length);
  let diff = 0, scale = 0;
  for (let i = 0; i < want.length; i++) { diff = Math.max(diff, Math.abs(got[i] - want[i])); scale = Math.max(scale, Math.abs(want[i])); }
  return diff / Math.max(scale, 1e-12);
}

/** Runs `kernel` (default: the registered one) on `backendName` with fresh tensors from `data`. */
function runOn(backendName: string, kernelName: string, data: Record<string, { values: Float32Array | Int32Array; shape: number[] }>, attrs: object, useStock: boolean): Float32Array | Int32Array {
  tf.setBackend(backendName);
  const inputs: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(data)) inputs[k] = tf.tensor(v.values, v.shape, v.values instanceof Int32Array ? 'int32' : 'float32');
  try {
    if (useStock) {
      const backend = tf.backend();
      const out = stockKernel(kernelName, backendName)!({ inputs, backend, attrs: attrs as never }) as tf.TensorInfo;
      const values = backend.readSync(out.dataId) as Float32Array;
      backend.disposeData(out.dataId);
      return values;
    }
    const out = tf.engine().runKernel(kernelName, inputs as never, attrs as never) as tf.Tensor;
    const values = out.dataSync() as Float32Array;
    out.dispose();
    return values;
  } finally {
    for (const t of Object.values(inputs)) t.dispose();
  }
}

function describeCase(c: ConvCase): string {
  return `x=${c.x} k=${c.k} co=${c.co} s=${c.s} pad=${JSON.stringify(c.pad)}`;
}

beforeAll(async () => {
  await initBackend('wasm');
  await tf.setBackend('cpu'); // cpu stays with its stock kernels: the reference
  await tf.setBackend('wasm');
});
afterAll(() => { delete process.env.CELLGAN_BPF; });

describe('Conv2DBackpropFilter on wasm', () => {
  for (const method of ['im2col', 'dilated'] as const) {
    for (const c of CASES) {
      it(`${method}: ${describeCase(c)}`, () => {
        process.env.CELLGAN_BPF = method;
        const info = tf.backend_util.computeConv2DInfo(c.x, [c.k[0], c.k[1], c.x[3], c.co], c.s, 1, c.pad as never);
        const dyShape = info.outShape;
        const data = { x: { values: randn(size(c.x)), shape: c.x }, dy: { values: randn(size(dyShape)), shape: dyShape } };
        const attrs = { strides: c.s, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: [c.k[0], c.k[1], c.x[3], c.co] };
        const want = runOn('cpu', 'Conv2DBackpropFilter', data, attrs, true);
        const got = runOn('wasm', 'Conv2DBackpropFilter', data, attrs, false);
        expect(relErr(got, want)).toBeLessThan(1e-4);
      });
    }
  }
});

describe('Conv2DBackpropInput (transposed conv) on wasm, phase-split', () => {
  afterAll(() => { delete process.env.CELLGAN_BPI; });
  for (const method of ['conv', 'gemm'] as const) for (const c of CASES) {
    it(`${method}: ${describeCase(c)}`, () => {
      process.env.CELLGAN_BPI = method;
      const filterShape = [c.k[0], c.k[1], c.x[3], c.co];
      const info = tf.backend_util.computeConv2DInfo(c.x, filterShape as never, c.s, 1, c.pad as never);
      const dyShape = info.outShape;
      const data = { dy: { values: randn(size(dyShape)), shape: dyShape }, filter: { values: randn(size(filterShape)), shape: filterShape } };
      const attrs = { strides: c.s, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined, inputShape: c.x };
      const want = runOn('cpu', 'Conv2DBackpropInput', data, attrs, true);
      const stockWasm = runOn('wasm', 'Conv2DBackpropInput', data, attrs, true);
      const got = runOn('wasm', 'Conv2DBackpropInput', data, attrs, false);
      expect(relErr(got, want)).toBeLessThan(1e-4);
      expect(relErr(stockWasm, want)).toBeLessThan(1e-4);
      const before = tf.backend().numDataIds();
      runOn('wasm', 'Conv2DBackpropInput', data, attrs, false);
      expect(tf.backend().numDataIds()).toBe(before);
    });
  }

  it('takes the column path only for small inputs whose columns stay under 32 MB', () => {
    delete process.env.CELLGAN_BPI;
    expect(chooseBpiMethod(16, 32 * 16 * 4 * 512)).toBe('gemm'); // DCGAN 4×4×512 layer, batch 32
    expect(chooseBpiMethod(64, 8 * 1024 * 1024 + 1)).toBe('conv'); // a large batch
    expect(chooseBpiMethod(256, 1000)).toBe('conv'); // 16×16 inputs: XNNPACK's conv is as fast
    process.env.CELLGAN_BPI = 'gemm';
    expect(chooseBpiMethod(256, 1e9)).toBe('gemm');
    delete process.env.CELLGAN_BPI;
  });

  it('splits stride-2 taps into disjoint phases that cover every tap once', () => {
    for (const [k, pad, len, dyLen] of [[4, 1, 8, 4], [3, 0, 9, 4], [5, 2, 7, 4], [1, 0, 7, 4]] as const) {
      const axes = [0, 1].map((a) => phaseAxis(a, 2, k, pad, len, dyLen));
      const taps = axes.flatMap((x) => x.taps).sort((a, b) => a - b);
      expect(taps).toEqual(Array.from({ length: k }, (_, i) => i));
      expect(axes[0].count + axes[1].count).toBe(len);
    }
  });
});

describe('Tile on wasm', () => {
  const cases: [number[], number[]][] = [
    [[1, 1, 1, 5], [3, 4, 2, 1]], [[2, 3], [2, 3]], [[7], [5]], [[2, 1, 3], [1, 4, 1]], [[3, 2, 2, 2], [1, 2, 1, 3]], [[4, 3], [1, 1]], [[2, 3], [0, 2]],
  ];
  for (const [shape, reps] of cases) {
    it(`float32 ${shape} × ${reps}`, () => {
      const data = { x: { values: randn(size(shape)), shape } };
      const want = runOn('cpu', 'Tile', data, { reps }, true);
      const got = runOn('wasm', 'Tile', data, { reps }, false);
      expect(Array.from(got)).toEqual(Array.from(want));
    });
  }
  it('int32', () => {
    const data = { x: { values: Int32Array.from([1, 2, 3, 4, 5, 6]), shape: [3, 2] } };
    const got = runOn('wasm', 'Tile', data, { reps: [2, 2] }, false);
    expect(Array.from(got)).toEqual([1, 2, 1, 2, 3, 4, 3, 4, 5, 6, 5, 6, 1, 2, 1, 2, 3, 4, 3, 4, 5, 6, 5, 6]);
  });
  it('tileInto handles rank 0', () => {
    const out = new Float32Array(1);
    tileInto([3], [], [], out);
    expect(out[0]).toBe(3);
  });
});

describe('Sum and Mean over leading axes on wasm', () => {
  const cases: [number[], number[], boolean][] = [
    [[4, 5, 6, 7], [0, 1, 2], false], [[4, 5, 6, 7], [0, 1, 2], true], [[3, 9], [0], false], [[2, 3, 4], [1, 0], true],
    [[2, 3, 4], [-3], false], [[5, 3, 1], [0, 1], false],
    // rows not a multiple of 4 (sumRows takes four rows per pass, then the rest one by one)
    [[3, 3, 5], [0, 1], false], [[7, 2, 6], [0, 1], true],
    // stock paths: trailing / middle / all axes
    [[4, 5, 6], [2], false], [[4, 5, 6], [1], true], [[4, 5, 6], [0, 1, 2], false],
  ];
  for (const kernel of ['Sum', 'Mean'] as const) {
    for (const [shape, axis, keepDims] of cases) {
      it(`${kernel} ${shape} axis=${axis} keepDims=${keepDims}`, () => {
        const data = { x: { values: randn(size(shape)), shape } };
        const want = runOn('cpu', kernel, data, { axis, keepDims }, true);
        const got = runOn('wasm', kernel, data, { axis, keepDims }, false);
        expect(relErr(got, want)).toBeLessThan(1e-5);
      });
    }
  }
  it('keeps the output shape of the stock kernel', () => {
    tf.setBackend('wasm');
    tf.tidy(() => {
      const x = tf.ones([2, 3, 4]);
      expect(tf.sum(x, [0, 1], true).shape).toEqual([1, 1, 4]);
      expect(tf.mean(x, [0, 1]).shape).toEqual([4]);
      expect(Array.from(tf.mean(x, [0, 1]).dataSync())).toEqual([1, 1, 1, 1]);
    });
  });
});

describe('MaxPoolGrad on wasm', () => {
  const cases: { x: number[]; f: [number, number]; s: [number, number]; pad: 'same' | 'valid' | number }[] = [
    { x: [2, 8, 8, 5], f: [2, 2], s: [2, 2], pad: 'valid' },
    { x: [2, 7, 9, 3], f: [3, 3], s: [2, 2], pad: 'same' },
    { x: [1, 6, 6, 17], f: [3, 2], s: [1, 1], pad: 'valid' },
    { x: [2, 5, 5, 4], f: [2, 2], s: [2, 2], pad: 'same' },
    { x: [2, 6, 6, 3], f: [3, 3], s: [2, 2], pad: 1 },
  ];
  for (const c of cases) {
    for (const ties of [false, true]) {
      it(`x=${c.x} f=${c.f} s=${c.s} pad=${c.pad}${ties ? ' (ReLU-like ties)' : ''}`, () => {
        // ReLU-like input: many exact zeros, so windows tie and tie-breaking must match cpu.
        const xv = randn(size(c.x)).map((v) => (ties ? Math.max(0, v - 0.5) : v));
        tf.setBackend('cpu');
        const out = tf.tidy(() => tf.maxPool(tf.tensor4d(xv, c.x as [number, number, number, number]), c.f, c.s, c.pad));
        const outShape = out.shape, outV = out.dataSync().slice() as Float32Array;
        out.dispose();
        const data = { dy: { values: randn(size(outShape)), shape: outShape }, input: { values: xv, shape: c.x }, output: { values: outV, shape: outShape } };
        const attrs = { filterSize: c.f, strides: c.s, pad: c.pad, dimRoundingMode: undefined };
        const want = runOn('cpu', 'MaxPoolGrad', data, attrs, true);
        const got = runOn('wasm', 'MaxPoolGrad', data, attrs, false);
        expect(relErr(got, want)).toBeLessThan(1e-5);
      });
    }
  }
});

describe('Identity on wasm shares the buffer', () => {
  it('clone is the same data without a copy, survives disposing the original, and frees it with the last reference', () => {
    tf.setBackend('wasm');
    const before = tf.memory().numBytes;
    const x = tf.tensor1d([1, 2, 3, 4]);
    const y = tf.clone(x);
    const backend = tf.backend() as unknown as { refCount(id: object): number };
    expect(backend.refCount(x.dataId)).toBe(2); // one buffer, two references (a copy would leave 1)
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3, 4]);
    expect(backend.refCount(y.dataId)).toBe(1);
    y.dispose();
    expect(backend.refCount(y.dataId)).toBe(0);
    expect(tf.memory().numBytes).toBe(before);
  });
  it('gradients through saved (cloned) tensors still match cpu', () => {
    const data = randn(2 * 5 * 5 * 3);
    const grad = (b: string) => { tf.setBackend(b); return tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.leakyRelu(x, 0.2), tf.sigmoid(x))))(tf.tensor4d(data, [2, 5, 5, 3])).dataSync()); };
    expect(relErr(grad('wasm'), grad('cpu'))).toBeLessThan(1e-5);
  });
});

describe('LeakyRelu on wasm (branch-free kernel and one-kernel gradient)', () => {
  // Exact zeros, ±0, denormals and values near the threshold besides random ones; made per test,
  // not at collection time, so the other suites' random data stay as they were.
  const special = [0, -0, 1e-30, -1e-30, 3, -3, 1e-45, -1e-45];
  const makeData = () => Float32Array.from([...special, ...randn(2 * 5 * 5 * 4 - special.length)]);
  for (const alpha of [0.2, 0.01]) {
    it(`alpha ${alpha}: forward and gradient equal cpu's stock kernel and tfjs-core's gradient`, () => {
      const data = makeData(), weights = randn(data.length);
      const run = (b: string) => {
        tf.setBackend(b);
        return tf.tidy(() => {
          const x = tf.tensor4d(data, [2, 5, 5, 4]), w = tf.tensor4d(weights, [2, 5, 5, 4]);
          const y = tf.leakyRelu(x, alpha).dataSync();
          const dx = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(tf.leakyRelu(xi, alpha), w)))(x).dataSync();
          return { y, dx };
        });
      };
      const want = run('cpu'), got = run('wasm');
      expect(relErr(got.y, want.y)).toBeLessThan(1e-6);
      expect(relErr(got.dx, want.dx)).toBeLessThan(1e-6);
    });
  }
  it('runs one kernel for the gradient on wasm (no Greater / Select)', async () => {
    tf.setBackend('wasm');
    const x = tf.tensor4d(makeData(), [2, 5, 5, 4]);
    const info = await tf.profile(() => { tf.grad((xi: tf.Tensor) => tf.sum(tf.leakyRelu(xi, 0.2)))(x); });
    const names = info.kernels.map((k) => k.name);
    expect(names).toContain('CellganLeakyReluGrad');
    expect(names).not.toContain('Greater');
    expect(names).not.toContain('Select');
    x.dispose();
  });
});

describe('BatchMatMul on wasm with transposed operands', () => {
  const shapes: [number, number, number, number][] = [[1, 5, 7, 3], [3, 17, 33, 9], [2, 64, 100, 40]]; // batch, m, k, n
  for (const [bt, m, k, n] of shapes) {
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
      it(`batch=${bt} ${m}×${k}·${k}×${n} transposeA=${ta} transposeB=${tb}`, () => {
        const aShape = ta ? [bt, k, m] : [bt, m, k], bShape = tb ? [bt, n, k] : [bt, k, n];
        const data = { a: { values: randn(size(aShape)), shape: aShape }, b: { values: randn(size(bShape)), shape: bShape } };
        const attrs = { transposeA: ta, transposeB: tb };
        const want = runOn('cpu', 'BatchMatMul', data, attrs, true);
        const got = runOn('wasm', 'BatchMatMul', data, attrs, false);
        expect(relErr(got, want)).toBeLessThan(1e-4);
        const before = tf.backend().numDataIds();
        runOn('wasm', 'BatchMatMul', data, attrs, false);
        expect(tf.backend().numDataIds()).toBe(before); // the transposed copies are freed
      });
    }
  }
});

/**
 * Custom kernels registered on backends that lack them or whose own are slow.
 * Only `wasm` (and where useful `cpu`) get them: the tfjs-node backends keep
 * libtensorflow's kernels untouched.
 */
import { tf } from '../tf.js';
import { makeConv2DBackpropFilter } from './conv2d-backprop-filter.js';
import type { KernelFunc } from './types.js';

interface KernelSpec { kernelName: string; backends: string[]; make: (backendName: string) => KernelFunc }

const KERNELS: KernelSpec[] = [
  { kernelName: 'Conv2DBackpropFilter', backends: ['wasm', 'cpu'], make: makeConv2DBackpropFilter },
];

const registered = new Set<string>();

/** Registers the custom kernels for `backendName`; returns their names. Idempotent. */
export function registerCustomKernels(backendName: string): string[] {
  const names: string[] = [];
  for (const spec of KERNELS) {
    if (!spec.backends.includes(backendName)) continue;
    const key = `${backendName}/${spec.kernelName}`;
    if (!registered.has(key)) {
      if (tf.getKernel(spec.kernelName, backendName)) tf.unregisterKernel(spec.kernelName, backendName);
      tf.registerKernel({ kernelName: spec.kernelName, backendName, kernelFunc: spec.make(backendName) });
      registered.add(key);
    }
    names.push(spec.kernelName);
  }
  return names;
}

import { describe, expect, it } from 'vitest';
import { initBackend, currentBackend, tf } from '../../src/engine/index.js';
import { CellganError } from '../../src/util/errors.js';

describe('backend selection', () => {
  it('picks wasm here, where tfjs-node cannot be installed, and says why the native ones were skipped', async () => {
    const info = await initBackend('auto');
    expect(info.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.skipped.map((s) => s.name)).toEqual(['tensorflow-gpu', 'tensorflow']);
    for (const s of info.skipped) expect(s.reason).toMatch(/not installed/);
    expect(info.customKernels).toContain('Conv2DBackpropFilter');
    expect(currentBackend()).toBe(info);
  });

  it('uses cpu when asked', async () => {
    const info = await initBackend('cpu');
    expect(info.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
  });

  it('refuses a backend that cannot load instead of falling back, naming why', async () => {
    await expect(initBackend('tensorflow')).rejects.toThrow(CellganError);
    await expect(initBackend('tensorflow')).rejects.toThrow(/@tensorflow\/tfjs-node.*not installed/);
    await expect(initBackend('nonsense' as never)).rejects.toThrow(/unknown backend "nonsense"/);
  });

  it('honours CELLGAN_BACKEND', async () => {
    process.env.CELLGAN_BACKEND = 'cpu';
    try {
      expect((await initBackend()).name).toBe('cpu');
    } finally {
      delete process.env.CELLGAN_BACKEND;
    }
  });
});

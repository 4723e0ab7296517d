import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/env.js';

describe('cellgan CLI', () => {
  it('prints help listing every command, exit 0', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['inspect', 'split', 'train', 'generate', 'classifier', 'score', 'export', 'pipeline', 'backend']) {
      expect(r.stdout).toContain(`cellgan ${c}`);
    }
  });

  it('reports the backend it runs on (wasm here)', async () => {
    const r = await runCli(['backend', '--json'], { env: { CELLGAN_BACKEND: '' } });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).name).toBe('wasm');
    expect(r.stderr).toMatch(/backend: wasm/);
  });

  it('refuses an unavailable backend with a clear one-line error and exit code 2, no stack trace', async () => {
    const r = await runCli(['backend', '--backend', 'tensorflow']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cellgan: error: backend tensorflow .*cannot be used/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('rejects an unknown command with usage help, exit 2', async () => {
    const r = await runCli(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('cellgan: error: unknown command frobnicate; see cellgan --help\n');
  });
});

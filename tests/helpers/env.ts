/** Paths and helpers shared by the test files. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SAMPLES = path.join(REPO, 'samples/pbc-mini');
export const SHARED_DATASETS = path.resolve(REPO, '../shared/datasets');
export const PBC_RAW = path.join(SHARED_DATASETS, 'pbc-raw-sample');
export const PBC_128 = path.join(SHARED_DATASETS, 'pbc-128');

/** A fresh temporary folder; call the returned cleanup in afterAll/afterEach. */
export function tempDir(prefix = 'cellgan-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface CliResult { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/**
 * Runs the cellgan CLI from source (through tsx), so tests do not depend on a
 * build. `onSpawn` gets the child, e.g. to kill it mid-way.
 */
export function runCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; onSpawn?: (child: ReturnType<typeof spawn>) => void; input?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'src/cli/run.ts'), ...args], {
      cwd: opts.cwd ?? REPO,
      env: { ...process.env, CI: '1', CELLGAN_BACKEND: process.env.CELLGAN_BACKEND ?? 'wasm', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
    opts.onSpawn?.(child);
  });
}

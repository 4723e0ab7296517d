/** Runs the CLI in a child process under tests/helpers/memory-probe.ts (forced GC, RSS/heap samples). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { REPO } from './env.js';
import type { MemoryReport } from './memory-probe.js';

/**
 * `cellgan <cliArgs>` with a sample every `everyMs` written to `report`;
 * resolves with the report and the child's stderr (rejects if no report was written).
 */
export function runCliUnderMemoryProbe(report: string, everyMs: number, cliArgs: string[], env: Record<string, string> = {}): Promise<MemoryReport & { stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [
      '--expose-gc', '--import', 'tsx', path.join(REPO, 'tests/helpers/memory-probe.ts'), report, String(everyMs), ...cliArgs,
    ], { cwd: REPO, env: { ...process.env, CI: '1', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', () => {
      try {
        resolve({ ...(JSON.parse(readFileSync(report, 'utf8')) as MemoryReport), stderr });
      } catch (err) {
        reject(new Error(`no memory report (${(err as Error).message}); stderr: ${stderr}`));
      }
    });
  });
}

#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm install` (the prepare script).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/run.js', import.meta.url);
if (!existsSync(entry)) {
  console.error('cellgan: dist/ is missing; run `npm run build` (npm install runs it).');
  process.exit(1);
}
await import(entry.href);

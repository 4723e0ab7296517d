#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm install` (the prepare script).
import('../dist/cli/main.js').then((m) => m.main(process.argv.slice(2))).catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli/main.js')) {
    console.error('cellgan: dist/ is missing; run `npm run build` (npm install runs it).');
  } else {
    console.error(err);
  }
  process.exit(1);
});

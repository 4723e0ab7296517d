/**
 * cellgan's library API. Every CLI command is a call to one of these; the
 * library never imports the CLI.
 */
export * from './data/index.js';
export * from './dcgan/index.js';
export * from './metrics/index.js';
export * from './export/index.js';
export * from './pipeline/index.js';
export * from './util/index.js';
export { initBackend, ensureBackend, currentBackend, describeBackend, BACKENDS } from './engine/index.js';
export type { BackendName, BackendInfo } from './engine/index.js';
export { VERSION } from './version.js';

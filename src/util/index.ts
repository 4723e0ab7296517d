export { CellganError, OptionError, InterruptedError } from './errors.js';
export { Rng, hashString } from './rng.js';
export type { RngState } from './rng.js';
export { createLogger, silentLogger } from './log.js';
export type { Logger } from './log.js';
export { Progress } from './progress.js';
export { writeFileAtomic, writeJsonAtomic, buildDirAtomic } from './atomic.js';
export { hashFile } from './hash.js';
export { chartToSvg, chartToPng } from './charts.js';

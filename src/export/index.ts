export { exportDataset, resolveExportOptions, parseMix, toCsv as manifestToCsv, EXPORT_OPTIONS } from './export.js';
export { EXPORT_FORMATS, ORIGINS as EXPORT_ORIGINS } from './types.js';
export type { ExportOptions, ExportResult, ExportCounts, ExportFormat, ExportPhase, GeneratorUse, ExportManifestRow, Origin as ExportOrigin } from './types.js';
export {
  AUGMENT_KINDS, COLOR_LIMITS, PNG_OPTIONS, applyTransform, drawTransform, geometriesFor, parseTransform, transformToString, variantsPerImage,
} from './classic.js';
export type { AugmentKind, ColorShift, Transform as AugmentTransform } from './classic.js';
export { planExport, allocate, resolvePerClass, mixToString } from './plan.js';
export type { Mix as ExportMix, Plan as ExportPlan, ClassPlan as ClassExportPlan, PlanInput as ExportPlanInput, AugmentedPlanItem } from './plan.js';
// The synthetic-folder reader lives in src/data (it owns file formats); export's users keep finding it here.
export { scanSyntheticFolder, syntheticSource } from '../data/synthetic.js';
export type { SyntheticFolder, SyntheticImage } from '../data/synthetic.js';

export { runPipeline, PIPELINE_MODES } from './pipeline.js';
export type { PipelineOptions, PipelineResult, PipelineMode } from './pipeline.js';
export { renderReport, REPORT_FILE } from './report.js';
export type { RenderReportOptions, RenderReportResult } from './report.js';
export { BUDGETS, BUDGET_NAMES, budgetTable } from './budgets.js';
export type { Budget, BudgetName } from './budgets.js';
export { readState as readPipelineState, STAGE_NAMES } from './state.js';
export type { PipelineState, StageRecord, StageName, StageStatus } from './state.js';

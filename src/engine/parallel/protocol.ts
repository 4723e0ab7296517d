/**
 * Message protocol between a WorkerPool and its workers, and the contract of
 * a task module (the code a worker runs).
 *
 * A task module exports `createTask(options)`, called once per worker after
 * the worker initialised its own tfjs backend; `options` is a plain
 * (structured-cloneable) object, so the worker can rebuild models from it.
 * It returns handlers by method name; a handler gets the payload posted by
 * the pool and returns a value plus the ArrayBuffers to transfer (not copy)
 * back.
 */
export interface TaskResult<T = unknown> { value: T; transfer?: ArrayBuffer[] }
export type TaskHandler = (payload: any) => TaskResult | Promise<TaskResult>; // eslint-disable-line @typescript-eslint/no-explicit-any
export type TaskHandlers = Record<string, TaskHandler>;
export type CreateTask = (options: any, context: WorkerContext) => TaskHandlers | Promise<TaskHandlers>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface WorkerContext { index: number; count: number; backend: string }

export interface WorkerInit { taskModule: string; options: unknown; backend: string; index: number; count: number }
export interface CallMessage { id: number; method: string; payload: unknown }
export type ReplyMessage =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: string }
  | { ready: true; backend: string }
  | { ready: false; error: string };

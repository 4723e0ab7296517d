/**
 * Entry of every pool worker: its own tfjs + wasm instance (tfjs-backend-wasm
 * runs single-threaded under Node, so a worker_thread is how a second core
 * gets used), then the task module's handlers, one call at a time.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../backend.js';
import type { CallMessage, CreateTask, ReplyMessage, TaskHandlers, WorkerInit } from './protocol.js';

const port = parentPort!;
const init = workerData as WorkerInit;
const post = (msg: ReplyMessage, transfer: ArrayBuffer[] = []) => port.postMessage(msg, transfer);

async function start(): Promise<TaskHandlers> {
  const info = await initBackend(init.backend as never);
  const mod = (await import(init.taskModule)) as { createTask?: CreateTask };
  if (typeof mod.createTask !== 'function') throw new Error(`${init.taskModule} does not export createTask`);
  const handlers = await mod.createTask(init.options, { index: init.index, count: init.count, backend: info.name });
  post({ ready: true, backend: info.name });
  return handlers;
}

start().then((handlers) => {
  // Calls are queued so a handler never overlaps the next one's start.
  let queue = Promise.resolve();
  port.on('message', (msg: CallMessage) => {
    queue = queue.then(async () => {
      const handler = handlers[msg.method];
      try {
        if (!handler) throw new Error(`unknown method ${msg.method}`);
        const r = await handler(msg.payload);
        post({ id: msg.id, ok: true, value: r.value }, r.transfer ?? []);
      } catch (err) {
        post({ id: msg.id, ok: false, error: (err as Error)?.stack ?? String(err) });
      }
    });
  });
}, (err: unknown) => {
  post({ ready: false, error: (err as Error)?.stack ?? String(err) });
});

import { isAbsolute, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parentPort, Worker, workerData } from 'node:worker_threads';

/**
 * Runs parts of the local hub in worker threads of the one hub process, so
 * they use more than one core as their AWS counterparts (separate Lambdas,
 * separate services) would, while Ctrl-C still stops everything.
 *
 * Protocol: the thread answers {ready} or {failed} once, may send {event}s,
 * and answers the "stop" message with {stopped}.
 */
type ThreadMessage<T> =
  | { type: 'ready'; value: T }
  | { type: 'failed'; message: string }
  | { type: 'event'; value: unknown }
  | { type: 'stopped' };

export interface ThreadHandle<T> {
  ready: T;
  stop(): Promise<void>;
}

/**
 * Starts `local/<file>` (TypeScript, or an absolute path) in a worker thread and waits for it to be
 * ready. `onEvent` gets the thread's events, and `{fatal}` if it dies later. `esm`: the thread's code
 * `import()`s modules that need tsx's ESM hooks (the worker's lazy jsforce does; packages alone do not).
 */
export function startThread<T>(
  file: string,
  data: unknown,
  onEvent: (value: unknown) => void = () => undefined,
  options: { esm?: boolean } = {},
): Promise<ThreadHandle<T>> {
  // Loader hooks registered with `--import tsx` do not reach worker threads on Node 20, so the thread
  // registers tsx itself: CommonJS hooks for the TypeScript loaded with require, and ESM hooks only if
  // `esm` (each thread's ESM hooks run in a loader thread of their own, ~20 MB and a round trip per import).
  const entry = isAbsolute(file) ? file : join(__dirname, file);
  const bootstrap = options.esm
    ? `import('tsx/esm/api').then(({ register }) => { register(); require('tsx/cjs'); return import(${JSON.stringify(pathToFileURL(entry).href)}); })`
    : `require('tsx/cjs'); require(${JSON.stringify(entry)})`;
  const worker = new Worker(bootstrap, { eval: true, workerData: data });
  let stopped: (() => void) | undefined;
  return new Promise((resolve, reject) => {
    const onExit = (code: number) => reject(new Error(`${file} exited with code ${code} before it was ready`));
    worker.once('error', reject);
    worker.once('exit', onExit);
    worker.on('message', (m: ThreadMessage<T>) => {
      if (m.type === 'event') return onEvent(m.value);
      if (m.type === 'stopped') return stopped?.();
      worker.off('error', reject);
      worker.off('exit', onExit);
      if (m.type === 'failed') {
        void worker.terminate();
        return reject(new Error(m.message));
      }
      let stopping = false;
      // After start-up, a thread that dies on its own (an uncaught error) is fatal to the hub:
      // a silently dead worker would leave every job QUEUED.
      worker.on('error', (err) => onEvent({ fatal: `${file}: ${err.message}` }));
      worker.on('exit', (code) => {
        if (!stopping) onEvent({ fatal: `${file} exited with code ${code}` });
      });
      resolve({
        ready: m.value,
        stop: async () => {
          stopping = true;
          const done = new Promise<void>((r) => {
            stopped = r;
            worker.once('exit', () => r());
          });
          worker.postMessage('stop');
          await Promise.race([done, new Promise((r) => setTimeout(r, 5000).unref())]);
          await worker.terminate();
        },
      });
    });
  });
}

/** The thread side: runs `start` with the thread's data and reports to the hub. */
export function serveThread<D, T>(
  start: (data: D, emit: (value: unknown) => void) => Promise<{ ready: T; stop(): Promise<void> }>,
): void {
  const port = parentPort;
  if (!port) throw new Error('serveThread must run in a worker thread');
  const emit = (value: unknown) => port.postMessage({ type: 'event', value } satisfies ThreadMessage<T>);
  start(workerData as D, emit).then(
    (running) => {
      port.on('message', (m: unknown) => {
        if (m === 'stop')
          void running.stop().finally(() => port.postMessage({ type: 'stopped' } satisfies ThreadMessage<T>));
      });
      port.postMessage({ type: 'ready', value: running.ready } satisfies ThreadMessage<T>);
    },
    (err: unknown) =>
      port.postMessage({
        type: 'failed',
        message: err instanceof Error ? err.message : String(err),
      } satisfies ThreadMessage<T>),
  );
}

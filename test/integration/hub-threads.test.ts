import { join } from 'node:path';
import { startThread } from '../../local/thread';

// The local hub runs its emulators and the worker in worker threads (local/thread.ts).
const entry = join(__dirname, '../fixtures/threads/echo-thread.ts');

test('a thread reports ready with a value, sends events, and stops on request', async () => {
  const events: unknown[] = [];
  const thread = await startThread<string>(entry, { mode: 'ok', value: 'x1' }, (e) => events.push(e));
  expect(thread.ready).toBe('ready:x1');
  await thread.stop();
  expect(events).toContainEqual({ hello: 'x1' });
  expect(events).toContainEqual({ stopping: true });
  expect(events.some((e) => (e as { fatal?: string }).fatal)).toBe(false);
});

test('a thread that cannot start rejects with its reason', async () => {
  await expect(startThread(entry, { mode: 'fail', value: '' })).rejects.toThrow('could not start: port taken');
});

test('a thread that dies after start-up is reported as fatal', async () => {
  const fatal = new Promise<string>((resolve) => {
    void startThread(entry, { mode: 'crash', value: '' }, (e) => {
      const f = (e as { fatal?: string }).fatal;
      if (f) resolve(f);
    });
  });
  await expect(fatal).resolves.toContain('boom after start');
});

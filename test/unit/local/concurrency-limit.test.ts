import { concurrencyLimit } from '../../../local/api-gateway';

/** A call that stays open until released, recording how many run at once. */
function tracker() {
  const state = { running: 0, peak: 0, started: [] as number[] };
  const releases = new Map<number, () => void>();
  const call = (n: number) => async () => {
    state.running += 1;
    state.peak = Math.max(state.peak, state.running);
    state.started.push(n);
    await new Promise<void>((resolve) => releases.set(n, resolve));
    state.running -= 1;
    return n;
  };
  return { state, call, release: (n: number) => releases.get(n)!() };
}

const tick = () => new Promise((r) => setImmediate(r));

test('runs at most `limit` calls at once, the others in arrival order', async () => {
  const limit = concurrencyLimit(2);
  const t = tracker();
  const results = [1, 2, 3, 4, 5].map((n) => limit(t.call(n)));
  await tick();
  expect(t.state.started).toEqual([1, 2]);
  t.release(2);
  await tick();
  expect(t.state.started).toEqual([1, 2, 3]);
  t.release(1);
  t.release(3);
  await tick();
  expect(t.state.started).toEqual([1, 2, 3, 4, 5]);
  t.release(4);
  t.release(5);
  await expect(Promise.all(results)).resolves.toEqual([1, 2, 3, 4, 5]);
  expect(t.state.peak).toBe(2);
});

test('a call that fails gives its place to the next one', async () => {
  const limit = concurrencyLimit(1);
  const failing = limit(async () => {
    throw new Error('boom');
  });
  const next = limit(async () => 'next');
  await expect(failing).rejects.toThrow('boom');
  await expect(next).resolves.toBe('next');
  // The slot is free again: a later call starts at once.
  await expect(limit(async () => 'later')).resolves.toBe('later');
});

test('refuses a limit that is not a positive integer', () => {
  expect(() => concurrencyLimit(0)).toThrow('positive integer');
  expect(() => concurrencyLimit(1.5)).toThrow('positive integer');
});

import { TtlCache } from '../../lambdas/shared/cache';

/** The one get-or-load cache: expiry on an injected clock, single flight, failures and unkept values not cached. */
function counter<V>(values: Array<V | Error>) {
  let calls = 0;
  const load = async () => {
    const v = values[Math.min(calls, values.length - 1)]!;
    calls += 1;
    if (v instanceof Error) throw v;
    return v;
  };
  return { load, calls: () => calls };
}

test('a value is served until its TTL has passed, then loaded again', async () => {
  let clock = 1_000;
  const cache = new TtlCache<string, string>({ ttlMs: 100, now: () => clock });
  const src = counter(['a', 'b']);
  expect(await cache.get('k', src.load)).toBe('a');
  clock += 99;
  expect(await cache.get('k', src.load)).toBe('a');
  clock += 1;
  expect(await cache.get('k', src.load)).toBe('b');
  expect(src.calls()).toBe(2);
});

test("the TTL may come from the value (a token's own lifetime); 0 or less keeps nothing; Infinity keeps until deleted", async () => {
  let clock = 0;
  const cache = new TtlCache<string, { v: string; life: number }>({ ttlMs: (x) => x.life, now: () => clock });
  const src = counter([
    { v: 'short', life: 0 },
    { v: 'long', life: Number.POSITIVE_INFINITY },
    { v: 'never', life: 1 },
  ]);
  expect((await cache.get('k', src.load)).v).toBe('short');
  expect((await cache.get('k', src.load)).v).toBe('long');
  clock += 1e12;
  expect((await cache.get('k', src.load)).v).toBe('long');
  expect(src.calls()).toBe(2);
});

test('concurrent callers of one key share one load; other keys load on their own', async () => {
  const cache = new TtlCache<string, number>({ ttlMs: 1_000 });
  let loads = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const load = async () => {
    loads += 1;
    await gate;
    return loads;
  };
  const waiting = Promise.all(Array.from({ length: 25 }, () => cache.get('k', load)));
  const other = cache.get('other', async () => -1);
  release();
  expect(new Set(await waiting)).toEqual(new Set([1]));
  expect(await other).toBe(-1);
  expect(loads).toBe(1);
});

test('a failed load is not cached: every waiting caller gets the failure, the next caller loads again', async () => {
  const cache = new TtlCache<string, string>({ ttlMs: 1_000 });
  const src = counter<string>([new Error('throttled'), 'ok']);
  const [a, b] = await Promise.allSettled([cache.get('k', src.load), cache.get('k', src.load)]);
  expect([a.status, b.status]).toEqual(['rejected', 'rejected']);
  expect(src.calls()).toBe(1);
  expect(await cache.get('k', src.load)).toBe('ok');
  expect(src.calls()).toBe(2);
});

test('a value `keep` refuses (a miss) is not cached and drops the old entry', async () => {
  let clock = 0;
  const cache = new TtlCache<string, string | undefined>({
    ttlMs: 1_000,
    keep: (v) => v !== undefined,
    now: () => clock,
  });
  const src = counter<string | undefined>(['row', undefined, undefined, 'added']);
  expect(await cache.get('k', src.load)).toBe('row');
  clock += 1_000;
  expect(await cache.get('k', src.load)).toBeUndefined();
  expect(await cache.get('k', src.load)).toBeUndefined();
  expect(await cache.get('k', src.load)).toBe('added');
  expect(src.calls()).toBe(4);
});

test('delete forgets a key, or only the value it names (one a concurrent caller replaced stays)', async () => {
  const cache = new TtlCache<string, string>({ ttlMs: 1_000 });
  const src = counter(['t1', 't2', 't3']);
  await cache.get('k', src.load);
  cache.delete('k', (v) => v === 'stale');
  expect(await cache.get('k', src.load)).toBe('t1');
  cache.delete('k', (v) => v === 't1');
  expect(await cache.get('k', src.load)).toBe('t2');
  cache.delete('k');
  expect(await cache.get('k', src.load)).toBe('t3');
  cache.clear();
  expect(src.calls()).toBe(3);
});

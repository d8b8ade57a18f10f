import {
  ConnectorLimiter,
  MemoryLimiterStore,
  limitSettings,
  type CallOutcome,
  type Permit,
} from '../../lambdas/domain/connector-limits';

/** A limiter on a clock the test moves. */
function setup(connector: Parameters<typeof limitSettings>[0]) {
  let now = 1_000_000;
  const store = new MemoryLimiterStore();
  const limiter = new ConnectorLimiter(
    store,
    () => now,
    async () => undefined,
  );
  const settings = limitSettings(connector);
  return {
    settings,
    limiter,
    advance: (ms: number) => (now += ms),
    now: () => now,
    acquire: () => limiter.acquire('c1', settings),
    release: (permit: Permit, outcome: CallOutcome = { kind: 'ok' }) =>
      limiter.release('c1', settings, permit, outcome),
  };
}

const permitOf = (r: Awaited<ReturnType<ConnectorLimiter['acquire']>>) => {
  if (!('permit' in r)) throw new Error(`expected a permit, got ${JSON.stringify(r)}`);
  return r.permit;
};
const fail: CallOutcome = { kind: 'failed', retryable: true, statusCode: 503 };

describe('connector limits', () => {
  it('limitSettings applies the defaults: breaker on, 5 failures, 30 s cool-down, 3600 s wait', () => {
    expect(limitSettings({ timeoutMs: 1000 })).toEqual({
      breaker: true,
      failureThreshold: 5,
      cooldownMs: 30_000,
      maxWaitMs: 3_600_000,
      leaseMs: 6000,
    });
  });

  it('maxConcurrency: the fourth call waits until one of three ends', async () => {
    const t = setup({ timeoutMs: 1000, limits: { maxConcurrency: 3 } });
    const permits = [permitOf(await t.acquire()), permitOf(await t.acquire()), permitOf(await t.acquire())];
    const refused = await t.acquire();
    expect(refused).toEqual({ wait: { reason: 'CONCURRENCY_LIMIT', untilMs: t.now() + 1000 } });
    await t.release(permits[0]!);
    permitOf(await t.acquire());
  });

  it('maxConcurrency: a refused job comes back when a call is expected to end, one job per call; others in a second', async () => {
    const t = setup({ timeoutMs: 1000, limits: { maxConcurrency: 2 }, circuitBreaker: { enabled: false } });
    const ask = (owner: string) => t.limiter.acquire('c1', t.settings, owner);
    // Calls take 300 ms (the record learns it from the first one).
    const a = permitOf(await ask('a'));
    permitOf(await ask('b'));
    t.advance(300);
    await t.release(a);
    permitOf(await ask('c')); // in flight: b (expected to end now), c (expected to end in 300 ms)
    const now = t.now();
    expect(await ask('j1')).toEqual({ wait: { reason: 'CONCURRENCY_LIMIT', untilMs: now + 75, soon: true } });
    expect(await ask('j2')).toEqual({ wait: { reason: 'CONCURRENCY_LIMIT', untilMs: now + 300, soon: true } });
    // Each call in flight has its job coming back: the next one waits the usual second, in the queue.
    expect(await ask('j3')).toEqual({ wait: { reason: 'CONCURRENCY_LIMIT', untilMs: now + 1000 } });
    // The ≤ maxConcurrency guarantee is the same: back early, j1 still waits while both calls run.
    t.advance(75);
    expect(await ask('j1')).toMatchObject({ wait: { reason: 'CONCURRENCY_LIMIT', soon: true } });
  });

  it('maxConcurrency: a slot whose worker died is free again after its lease', async () => {
    const t = setup({ timeoutMs: 1000, limits: { maxConcurrency: 1 } });
    permitOf(await t.acquire());
    expect('wait' in (await t.acquire())).toBe(true);
    t.advance(6001);
    permitOf(await t.acquire());
  });

  it('perSecond: 5 calls in a second; the next five are booked for when a slot is a second past its call, later ones wait spread', async () => {
    const t = setup({ timeoutMs: 1000, limits: { perSecond: 5 } });
    const start = t.now();
    for (let i = 0; i < 5; i += 1) {
      await t.release(permitOf(await t.acquire()));
      t.advance(10);
    }
    // Each slot is free a second after its call ended: booked for then, never earlier.
    const booked = [];
    for (let i = 0; i < 5; i += 1) booked.push(permitOf(await t.acquire()).startAt);
    expect(booked).toEqual([start + 1000, start + 1010, start + 1020, start + 1030, start + 1040]);
    // Every slot is taken: the next jobs wait, spread 1/perSecond apart.
    expect(await t.acquire()).toEqual({ wait: { reason: 'RATE_LIMIT', untilMs: start + 2000 } });
    expect(await t.acquire()).toEqual({ wait: { reason: 'RATE_LIMIT', untilMs: start + 2200 } });
  });

  it('perSecond: a job keeps its turn across waits; jobs that come later do not take it', async () => {
    const t = setup({ timeoutMs: 1000, limits: { perSecond: 1 } });
    const call = permitOf(await t.acquire()); // in flight: when its slot is free is not known
    const first = await t.limiter.acquire('c1', t.settings, 'job-a');
    expect(first).toMatchObject({ wait: { reason: 'RATE_LIMIT' } });
    const second = await t.limiter.acquire('c1', t.settings, 'job-b');
    if (!('wait' in first) || !('wait' in second)) throw new Error('expected waits');
    expect(second.wait.untilMs).toBeGreaterThan(first.wait.untilMs);
    await t.release(call);
    t.advance(500);
    // job-b asks first; job-a's turn is before its own, so job-b waits and job-a gets the slot.
    expect(await t.limiter.acquire('c1', t.settings, 'job-b')).toMatchObject({ wait: { reason: 'RATE_LIMIT' } });
    expect(permitOf(await t.limiter.acquire('c1', t.settings, 'job-a')).startAt).toBe(t.now() + 500);
  });

  it('perSecond: a call counts until a second after it ended (the service may have seen it late)', async () => {
    const t = setup({ timeoutMs: 5000, limits: { perSecond: 1 } });
    const p = permitOf(await t.acquire());
    t.advance(3000);
    expect('wait' in (await t.acquire())).toBe(true);
    await t.release(p);
    const ended = t.now();
    t.advance(999);
    // The next call may be booked now, but not to start before a second after the first ended.
    expect(permitOf(await t.acquire()).startAt).toBe(ended + 1000);
  });

  it('a 429 with Retry-After slows the whole connector', async () => {
    const t = setup({ timeoutMs: 1000 });
    await t.release(permitOf(await t.acquire()));
    const p = permitOf(await t.acquire());
    await t.release(p, { kind: 'failed', retryable: true, statusCode: 429, retryAfterMs: 5000 });
    const r = await t.acquire();
    expect(r).toEqual({ wait: { reason: 'RATE_LIMIT', untilMs: t.now() + 5000 } });
    t.advance(5001);
    permitOf(await t.acquire());
  });

  it('circuit breaker: opens after the threshold, one probe after the cool-down, closes on success', async () => {
    const t = setup({ timeoutMs: 1000, circuitBreaker: { failureThreshold: 3, cooldownSeconds: 10 } });
    for (let i = 0; i < 3; i += 1) await t.release(permitOf(await t.acquire()), fail);
    const open = await t.acquire();
    expect(open).toEqual({ wait: { reason: 'CIRCUIT_OPEN', untilMs: t.now() + 10_000 } });
    t.advance(10_000);
    const probe = permitOf(await t.acquire());
    expect(probe.probe).toBe(true);
    expect(await t.acquire()).toMatchObject({ wait: { reason: 'CIRCUIT_OPEN' } });
    await t.release(probe, { kind: 'ok' });
    permitOf(await t.acquire());
    permitOf(await t.acquire());
  });

  it('circuit breaker: a failed probe opens it again for a cool-down', async () => {
    const t = setup({ timeoutMs: 1000, circuitBreaker: { failureThreshold: 1, cooldownSeconds: 5 } });
    await t.release(permitOf(await t.acquire()), fail);
    t.advance(5000);
    const probe = permitOf(await t.acquire());
    await t.release(probe, fail);
    expect(await t.acquire()).toEqual({ wait: { reason: 'CIRCUIT_OPEN', untilMs: t.now() + 5000 } });
  });

  it('circuit breaker: while unsure of the service, no more calls are in flight than the threshold allows', async () => {
    const t = setup({ timeoutMs: 1000, circuitBreaker: { failureThreshold: 3 } });
    const first = [permitOf(await t.acquire()), permitOf(await t.acquire()), permitOf(await t.acquire())];
    expect('wait' in (await t.acquire())).toBe(true);
    await t.release(first[0]!, fail);
    expect(await t.acquire()).toMatchObject({ wait: { reason: 'CIRCUIT_OPEN' } });
    await t.release(first[1]!, { kind: 'ok' });
    // Healthy again: calls are not capped (nor tracked).
    const many = await Promise.all(Array.from({ length: 10 }, () => t.acquire()));
    expect(many.every((r) => 'permit' in r && !r.permit.tracked)).toBe(true);
  });

  it('circuit breaker: a failed call frees its slot and counts its failure in one write (no call slips in between)', async () => {
    const store = new MemoryLimiterStore();
    const settings = limitSettings({ timeoutMs: 1000, circuitBreaker: { failureThreshold: 3 } });
    const limiter = new ConnectorLimiter(store, Date.now, async () => undefined);
    const first = await Promise.all([1, 2, 3].map(() => limiter.acquire('c1', settings).then(permitOf)));
    // Another worker (a limiter of its own: this one's next cycle waits for the release's)
    // asks right after the releasing worker's first write lands, whichever write that is.
    const other = new ConnectorLimiter(store, Date.now, async () => undefined);
    let between: Awaited<ReturnType<ConnectorLimiter['acquire']>> | undefined;
    const ask = async () => (between ??= await other.acquire('c1', settings));
    const end = store.end.bind(store);
    const write = store.write.bind(store);
    store.end = async (...a) => end(...a).finally(ask);
    store.write = async (...a) => write(...a).finally(ask);
    await limiter.release('c1', settings, first[0]!, fail);
    expect(between).toMatchObject({ wait: { reason: 'CIRCUIT_OPEN' } });
  });

  it('a healthy connector: a success reads and writes nothing until lastOkAt needs its refresh', async () => {
    const t = setup({ timeoutMs: 1000, circuitBreaker: { failureThreshold: 3, cooldownSeconds: 10 } });
    const store = (t.limiter as unknown as { store: MemoryLimiterStore }).store;
    await t.release(permitOf(await t.acquire()), { kind: 'ok' }); // lastOkAt: now
    let reads = 0;
    const read = store.read.bind(store);
    store.read = async (...a) => ((reads += 1), read(...a));
    const calm = permitOf(await t.acquire());
    expect(calm.tracked).toBe(false);
    reads = 0;
    await t.release(calm, { kind: 'ok' });
    await t.release(permitOf(await t.acquire()), { kind: 'none' });
    expect(reads).toBe(1); // the second acquire's; neither release read the record
    // Past half the cool-down, a success refreshes lastOkAt, so the connector is never taken for unsure.
    t.advance(5_001);
    const later = permitOf(await t.acquire());
    reads = 0;
    await t.release(later, { kind: 'ok' });
    expect(reads).toBe(1);
    t.advance(5_000);
    expect(permitOf(await t.acquire()).tracked).toBe(false);
  });

  it('a non-retryable failure (the service answered) does not count toward the breaker', async () => {
    const t = setup({ timeoutMs: 1000, circuitBreaker: { failureThreshold: 1 } });
    await t.release(permitOf(await t.acquire()), { kind: 'failed', retryable: false, statusCode: 400 });
    permitOf(await t.acquire());
  });

  it('with the breaker off, failures change nothing', async () => {
    const t = setup({ timeoutMs: 1000, circuitBreaker: { enabled: false, failureThreshold: 1 } });
    for (let i = 0; i < 5; i += 1) await t.release(permitOf(await t.acquire()), fail);
    permitOf(await t.acquire());
  });

  it("a call's end recorded while another worker decides neither makes it decide again nor is lost", async () => {
    const store = new MemoryLimiterStore();
    const settings = limitSettings({ timeoutMs: 1000, limits: { maxConcurrency: 2 } });
    const limiter = new ConnectorLimiter(store, Date.now, async () => undefined);
    const first = permitOf(await limiter.acquire('c1', settings));
    // The first call ends (recorded beside the record) between the next acquire's read and its write.
    const read = store.read.bind(store);
    let reads = 0;
    store.read = async (id) => {
      reads += 1;
      const item = await read(id);
      if (reads === 1) await store.end('c1', first.id, Date.now());
      return item;
    };
    permitOf(await limiter.acquire('c1', settings));
    expect(reads).toBe(1);
    // The end still counts: one call in flight of two, so a third one goes.
    permitOf(await limiter.acquire('c1', settings));
  });

  it('concurrent decisions on one limiter are written together: one read and one write for many jobs', async () => {
    const store = new MemoryLimiterStore();
    const limiter = new ConnectorLimiter(
      store,
      () => 1_000_000,
      async () => undefined,
    );
    // The breaker off: its cap on calls of unknown outcome would refuse them before perSecond does.
    const settings = limitSettings({ timeoutMs: 1000, limits: { perSecond: 5 }, circuitBreaker: { enabled: false } });
    const read = store.read.bind(store);
    const write = store.write.bind(store);
    let reads = 0;
    let writes = 0;
    store.read = async (...a) => ((reads += 1), read(...a));
    store.write = async (...a) => ((writes += 1), write(...a));
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => limiter.acquire('c1', settings, `job-${i}`)),
    );
    // The first caller's cycle starts at once; the eleven asking meanwhile share the next one.
    expect(reads).toBeLessThanOrEqual(2);
    expect(writes).toBeLessThanOrEqual(2);
    expect(results.filter((r) => 'permit' in r)).toHaveLength(5);
    // Each refused job's turn was written with the rest: none is lost to a lost race.
    expect(Object.keys((await read('c1'))!.state.turns!).sort()).toEqual(
      results.flatMap((r, i) => ('wait' in r ? [`job-${i}`] : [])).sort(),
    );
  });

  it('two limiters on one store never hand out more slots than the limit (compare-and-set)', async () => {
    const store = new MemoryLimiterStore();
    const settings = limitSettings({ timeoutMs: 1000, limits: { maxConcurrency: 2 } });
    const a = new ConnectorLimiter(store, Date.now, () => new Promise((r) => setImmediate(r)));
    const b = new ConnectorLimiter(store, Date.now, () => new Promise((r) => setImmediate(r)));
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).acquire('c1', settings)));
    expect(results.filter((r) => 'permit' in r)).toHaveLength(2);
  });
});

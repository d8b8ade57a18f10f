import { randomUUID } from 'node:crypto';

/**
 * Per-connector limits (calls in flight, calls per second) and a circuit
 * breaker, shared by every worker: the state of one connector is one record
 * (a limiter item), changed only by a compare-and-set on its version, so two
 * workers never both take the last slot. The decisions are pure functions of
 * that record (decideAcquire, applyRelease); the store is a port.
 */

export type WaitReason = 'CIRCUIT_OPEN' | 'RATE_LIMIT' | 'CONCURRENCY_LIMIT';

export interface LimitSettings {
  maxConcurrency?: number;
  perSecond?: number;
  breaker: boolean;
  failureThreshold: number;
  cooldownMs: number;
  maxWaitMs: number;
  /** How long a call may hold its slot when its worker never releases it (died). */
  leaseMs: number;
}

/** The connector row's fields (connectors/common.ts), with their defaults. */
export function limitSettings(connector: {
  limits?: { maxConcurrency?: number; perSecond?: number };
  circuitBreaker?: { enabled?: boolean; failureThreshold?: number; cooldownSeconds?: number };
  maxWaitSeconds?: number;
  timeoutMs: number;
}): LimitSettings {
  return {
    ...(connector.limits?.maxConcurrency !== undefined && { maxConcurrency: connector.limits.maxConcurrency }),
    ...(connector.limits?.perSecond !== undefined && { perSecond: connector.limits.perSecond }),
    breaker: connector.circuitBreaker?.enabled ?? true,
    failureThreshold: connector.circuitBreaker?.failureThreshold ?? 5,
    cooldownMs: (connector.circuitBreaker?.cooldownSeconds ?? 30) * 1000,
    maxWaitMs: (connector.maxWaitSeconds ?? 3600) * 1000,
    leaseMs: connector.timeoutMs + 5000,
  };
}

/** One call holding a slot: started `s`, ended `e` (once released), slot lost at `x` if never released (epoch ms). */
interface CallSlot {
  s: number;
  e?: number;
  x: number;
}

export interface LimiterState {
  calls: Record<string, CallSlot>;
  /** Consecutive retryable failures. */
  failures: number;
  lastOkAt?: number;
  /** Set while the circuit is open; once passed, it is half-open (one probe). */
  openUntil?: number;
  probe?: { id: string; x: number };
  /** Nothing is called before this (Retry-After or 429 from the service). */
  notBefore?: number;
  /** Where the next refused job is told to come back (spreads waiting jobs over time). */
  nextSlot?: number;
}

export interface Permit {
  id: string;
  /** The call holds a slot in the shared record (released after the call). */
  tracked: boolean;
  probe: boolean;
}

export interface Wait {
  reason: WaitReason;
  untilMs: number;
}

export type Acquired = { permit: Permit } | { wait: Wait };

/** What a call's end tells the breaker. `none`: nothing reached the service. */
export type CallOutcome = { kind: 'ok' } | { kind: 'none' } | { kind: 'failed'; retryable: boolean; statusCode?: number; retryAfterMs?: number };

const WINDOW_MS = 1000;
/** Shortest wait handed to the queue (SQS visibility is in whole seconds). */
const MIN_WAIT_MS = 1000;

const emptyState = (): LimiterState => ({ calls: {}, failures: 0 });

const slotEnd = (c: CallSlot, now: number) => c.e ?? (c.x > now ? Number.POSITIVE_INFINITY : c.x);

/**
 * Unsure whether the service answers (no success lately, or failures since the
 * last one): calls whose outcome is unknown are capped so that no more than
 * `failureThreshold` calls can reach a service that is down.
 */
function guarded(state: LimiterState, s: LimitSettings, now: number): boolean {
  if (!s.breaker) return false;
  return state.failures > 0 || state.openUntil !== undefined || state.lastOkAt === undefined || now - state.lastOkAt > s.cooldownMs;
}

/** Decides one job's turn; `next` is the record to write (undefined: nothing to write). */
export function decideAcquire(prev: LimiterState | undefined, s: LimitSettings, now: number, id: string): { result: Acquired; next?: LimiterState } {
  const state = structuredClone(prev ?? emptyState());
  // Forget calls that can no longer count against any limit.
  // Below one call a second, the window is one call's share (perSecond 0.5: one call in any 2 s).
  const windowMs = s.perSecond !== undefined && s.perSecond < 1 ? 1000 / s.perSecond : WINDOW_MS;
  for (const [key, c] of Object.entries(state.calls)) if (slotEnd(c, now) <= now - windowMs) delete state.calls[key];
  const refuse = (reason: WaitReason, untilMs: number, spread = false): { result: Acquired; next?: LimiterState } => {
    let until = Math.max(untilMs, now + 1);
    // Each refused job gets its own turn, 1/perSecond apart: they come back at the rate, not all at once.
    if (spread && s.perSecond) {
      until = Math.max(until, state.nextSlot ?? 0);
      state.nextSlot = until + 1000 / s.perSecond;
      return { result: { wait: { reason, untilMs: until } }, next: state };
    }
    return { result: { wait: { reason, untilMs: until } } };
  };
  if (state.notBefore !== undefined && state.notBefore > now) return refuse('RATE_LIMIT', state.notBefore, true);
  let probe = false;
  if (s.breaker && state.openUntil !== undefined) {
    if (now < state.openUntil) return refuse('CIRCUIT_OPEN', state.openUntil);
    if (state.probe && state.probe.x > now) return refuse('CIRCUIT_OPEN', Math.min(state.probe.x, now + 2000));
    probe = true;
  }
  const inFlight = Object.values(state.calls).filter((c) => c.e === undefined && c.x > now).length;
  if (s.maxConcurrency !== undefined && inFlight >= s.maxConcurrency) return refuse('CONCURRENCY_LIMIT', now + MIN_WAIT_MS);
  if (!probe && guarded(state, s, now) && state.failures + inFlight >= s.failureThreshold) {
    return refuse(state.failures > 0 ? 'CIRCUIT_OPEN' : 'CONCURRENCY_LIMIT', now + MIN_WAIT_MS);
  }
  if (s.perSecond !== undefined) {
    // A call counts from its start until a second after it ended: the service saw it somewhere in between.
    const ends = Object.values(state.calls)
      .map((c) => slotEnd(c, now))
      .filter((e) => e > now - windowMs)
      .sort((a, b) => a - b);
    const allowed = Math.max(1, Math.floor(s.perSecond));
    if (ends.length >= allowed) {
      const leaving = ends[ends.length - allowed]!;
      return refuse('RATE_LIMIT', Number.isFinite(leaving) ? leaving + windowMs : now + windowMs, true);
    }
  }
  const tracked = probe || s.maxConcurrency !== undefined || s.perSecond !== undefined || guarded(state, s, now);
  if (!tracked) return { result: { permit: { id, tracked: false, probe: false } } };
  state.calls[id] = { s: now, x: now + s.leaseMs };
  if (probe) state.probe = { id, x: now + s.leaseMs };
  return { result: { permit: { id, tracked: true, probe } }, next: state };
}

/** The record after a call ended (undefined: nothing to write). */
export function applyRelease(prev: LimiterState | undefined, s: LimitSettings, permit: Permit, outcome: CallOutcome, now: number): LimiterState | undefined {
  const state = structuredClone(prev ?? emptyState());
  let changed = false;
  const slot = state.calls[permit.id];
  if (slot) {
    slot.e = now;
    changed = true;
  }
  if (state.probe?.id === permit.id) {
    delete state.probe;
    changed = true;
  }
  if (outcome.kind === 'none') return changed ? state : undefined;
  const throttled = outcome.kind === 'failed' && (outcome.statusCode === 429 || outcome.retryAfterMs !== undefined);
  if (throttled) {
    // The service asked the whole connector to slow down, not only this job.
    state.notBefore = Math.max(state.notBefore ?? 0, now + (outcome.retryAfterMs ?? 1000));
    changed = true;
  }
  if (outcome.kind === 'ok' || (outcome.kind === 'failed' && !outcome.retryable) || (outcome.kind === 'failed' && outcome.statusCode === 429)) {
    // The service answered: the circuit closes. A refresh of lastOkAt is only written now and then.
    const stale = state.lastOkAt === undefined || now - state.lastOkAt > s.cooldownMs / 2;
    if (state.failures > 0 || state.openUntil !== undefined || stale) {
      state.failures = 0;
      delete state.openUntil;
      state.lastOkAt = now;
      changed = true;
    }
    return changed ? state : undefined;
  }
  if (!s.breaker) return changed ? state : undefined;
  state.failures += 1;
  if (permit.probe || state.failures >= s.failureThreshold) state.openUntil = now + s.cooldownMs;
  return state;
}

/** Port: the shared record of one connector, written only if unchanged since read (DynamoDB: adapters/limiter-store.ts). */
export interface LimiterStateStore {
  read(connectorId: string): Promise<{ state: LimiterState; version: number } | undefined>;
  /** false when another worker wrote it first. */
  write(connectorId: string, state: LimiterState, expectedVersion: number | undefined): Promise<boolean>;
}

const CONFLICT_TRIES = 20;
/** A refusal's write only spreads the waits: a few tries, then it stands as decided. */
const REFUSAL_TRIES = 3;

export class ConnectorLimiter {
  constructor(
    private readonly store: LimiterStateStore,
    private readonly now: () => number = Date.now,
    private readonly pause: (ms: number) => Promise<unknown> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  async acquire(connectorId: string, settings: LimitSettings): Promise<Acquired> {
    const id = randomUUID();
    return this.update(
      connectorId,
      (state, now) => decideAcquire(state, settings, now, id),
      (r) => r,
      (): Acquired => ({ wait: { reason: settings.maxConcurrency !== undefined ? 'CONCURRENCY_LIMIT' : 'RATE_LIMIT', untilMs: this.now() + 1000 + Math.random() * 1000 } }),
    );
  }

  /** `endedAt`: when the call returned (the writes after it do not lengthen its slot). */
  async release(connectorId: string, settings: LimitSettings, permit: Permit, outcome: CallOutcome, endedAt = this.now()): Promise<void> {
    await this.update(
      connectorId,
      (state, now) => ({ result: undefined, next: applyRelease(state, settings, permit, outcome, Math.min(now, endedAt)) }),
      () => undefined,
    );
  }

  /**
   * Read, decide, write if unchanged; on a lost race decide again on the new record.
   * A refusal stands even if its write (only the spreading of waits) loses the race:
   * many waiting jobs then do not fight over the record.
   */
  private async update<R, T>(connectorId: string, decide: (state: LimiterState | undefined, now: number) => { result: R; next?: LimiterState }, out: (r: R) => T, busy?: () => R): Promise<T> {
    for (let tries = 1; ; tries += 1) {
      const current = await this.store.read(connectorId);
      const { result, next } = decide(current?.state, this.now());
      if (!next || (await this.store.write(connectorId, next, current?.version))) return out(result);
      if (result && typeof result === 'object' && 'wait' in result && tries >= REFUSAL_TRIES) return out(result);
      if (tries >= CONFLICT_TRIES) {
        if (busy) return out(busy()); // crowded: wait a moment in the queue rather than fail the message
        throw new Error(`Limiter record of connector ${connectorId} kept changing under ${tries} tries`);
      }
      await this.pause(5 + Math.random() * 20 * Math.min(tries, 5));
    }
  }
}

/** In memory, for tests and a single process. */
export class MemoryLimiterStore implements LimiterStateStore {
  private readonly items = new Map<string, { state: LimiterState; version: number }>();
  async read(connectorId: string) {
    const item = this.items.get(connectorId);
    return item && structuredClone(item);
  }
  async write(connectorId: string, state: LimiterState, expectedVersion: number | undefined) {
    const item = this.items.get(connectorId);
    if (item?.version !== expectedVersion) return false;
    this.items.set(connectorId, { state: structuredClone(state), version: (expectedVersion ?? 0) + 1 });
    return true;
  }
}

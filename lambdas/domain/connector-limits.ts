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
  /**
   * perSecond: the turns handed to waiting jobs (job id -> when its call may
   * start). A job that comes back at its turn goes before jobs that came later.
   */
  turns?: Record<string, number>;
  /** Recent call duration (ms, moving average): perSecond plans turns with it, maxConcurrency expects calls' ends. */
  dur?: number;
  /**
   * maxConcurrency: jobs told to come back when a call in flight is expected to
   * end (job id -> that time), at most one per call in flight, so at most
   * maxConcurrency jobs wait that way (in their worker) at a time.
   */
  soon?: Record<string, number>;
}

export interface Permit {
  id: string;
  /** The call holds a slot in the shared record (released after the call). */
  tracked: boolean;
  probe: boolean;
  /** perSecond: the call is booked for this time (epoch ms) and must not start before it. */
  startAt?: number;
  /**
   * Untracked on a healthy connector: a success that ends before this time
   * (epoch ms) tells the record nothing new (its last success is recent enough),
   * so the release neither reads nor writes it.
   */
  quietUntil?: number;
}

export interface Wait {
  reason: WaitReason;
  untilMs: number;
  /**
   * maxConcurrency: a call in flight is expected to end by then, under a second
   * from now, and this job is the one to take its slot: worth waiting for in
   * the worker rather than a whole second or more in the queue.
   */
  soon?: true;
}

export type Acquired = { permit: Permit } | { wait: Wait };

/** What a call's end tells the breaker. `none`: nothing reached the service. */
export type CallOutcome =
  | { kind: 'ok' }
  | { kind: 'none' }
  | { kind: 'failed'; retryable: boolean; statusCode?: number; retryAfterMs?: number };

const WINDOW_MS = 1000;
/** Shortest wait handed to the queue (SQS visibility is in whole seconds). */
const MIN_WAIT_MS = 1000;
/** A turn not taken this long after it came is given up (its job died, or came back very late). */
const TURN_GRACE_MS = 5000;
/**
 * A turn this far past holds back no one: its job is late (a queue under load),
 * so jobs that are here take the slot, and it takes the next one when it comes.
 */
const OVERDUE_MS = 200;
/** perSecond: a slot free again within this long is booked for the call (Permit.startAt). */
const AHEAD_MS = 1000;
/** A job refused just before a slot frees asks again this soon at the earliest. */
const RETRY_SOON_MS = 50;
/** At most this many turns are kept (the record stays small); later jobs are spread without one. */
const MAX_TURNS = 200;

const emptyState = (): LimiterState => ({ calls: {}, failures: 0 });

const slotEnd = (c: CallSlot, now: number) => c.e ?? (c.x > now ? Number.POSITIVE_INFINITY : c.x);

/**
 * Unsure whether the service answers (no success lately, or failures since the
 * last one): calls whose outcome is unknown are capped so that no more than
 * `failureThreshold` calls can reach a service that is down.
 */
function guarded(state: LimiterState, s: LimitSettings, now: number): boolean {
  if (!s.breaker) return false;
  return (
    state.failures > 0 ||
    state.openUntil !== undefined ||
    state.lastOkAt === undefined ||
    now - state.lastOkAt > s.cooldownMs
  );
}

/**
 * perSecond as slots: a call holds one of `allowed` slots from its start until
 * a window after it ended, so the service can never see more than `allowed`
 * calls in any window however long each call takes. When each slot is free
 * again (calls in flight: after the recent duration), ascending.
 */
function slotsFreeAt(
  state: LimiterState,
  allowed: number,
  windowMs: number,
  now: number,
): Array<{ at: number; exact: boolean }> {
  const dur = state.dur ?? 0;
  const free = Object.values(state.calls).map((c) => {
    const end = slotEnd(c, now);
    return Number.isFinite(end)
      ? { at: end + windowMs, exact: true }
      : { at: Math.max(now, c.s + dur) + windowMs, exact: false };
  });
  while (free.length < allowed) free.push({ at: now, exact: true });
  // More calls than slots (the limit was lowered): a slot is free once enough of them have left.
  return free.sort((a, b) => a.at - b.at).slice(free.length - allowed);
}

/** The turn after every turn already handed out: each takes the earliest free slot and holds it a call and a window long. */
function nextTurn(state: LimiterState, allowed: number, windowMs: number, now: number): number {
  const free = slotsFreeAt(state, allowed, windowMs, now).map((f) => f.at);
  const hold = (state.dur ?? 0) + windowMs;
  for (const t of Object.values(state.turns ?? {}).sort((a, b) => a - b)) {
    const start = Math.max(free.shift()!, t);
    const at = free.findIndex((f) => f > start + hold);
    free.splice(at === -1 ? free.length : at, 0, start + hold);
  }
  return Math.max(now, free[0]!);
}

/**
 * perSecond: may this call start now? A slot must be free that no earlier turn
 * claims: turns before the caller's own (or, without one, turns due before a
 * slot taken now would be free again), unless overdue. Refused, the caller
 * keeps its turn or gets the next one, and is told when to come back.
 */
function decideRate(
  state: LimiterState,
  s: LimitSettings,
  now: number,
  windowMs: number,
  owner: string | undefined,
): { go: true; startAt?: number } | { go: false; untilMs: number; write: boolean } {
  const allowed = Math.max(1, Math.floor(s.perSecond!));
  const turns = (state.turns ??= {});
  for (const [key, t] of Object.entries(turns)) if (t + Math.max(TURN_GRACE_MS, windowMs) < now) delete turns[key];
  const mine = owner !== undefined ? turns[owner] : undefined;
  const before = mine ?? now + (state.dur ?? 0) + windowMs;
  const claims = Object.entries(turns).filter(
    ([key, t]) => key !== owner && t < before && t >= now - OVERDUE_MS,
  ).length;
  const free = slotsFreeAt(state, allowed, windowMs, now);
  const slot = free[Math.min(claims, free.length - 1)]!;
  // Free now, or at a known time within AHEAD_MS (a call's end + the window): the call is booked for then,
  // so it starts on the dot rather than a read and a write later.
  if (claims < free.length && (slot.at <= now || (slot.exact && slot.at - now <= AHEAD_MS))) {
    if (owner !== undefined) delete turns[owner];
    return { go: true, ...(slot.at > now && { startAt: slot.at }) };
  }
  if (mine !== undefined) {
    // Its turn stands; it asks again when a slot may be bookable (nothing to write;
    // forgotten turns are dropped by the next write that is needed anyway).
    return { go: false, untilMs: Math.max(mine - AHEAD_MS, now + RETRY_SOON_MS, slot.at - AHEAD_MS), write: false };
  }
  const turn = nextTurn(state, allowed, windowMs, now);
  if (owner !== undefined && Object.keys(turns).length < MAX_TURNS) {
    turns[owner] = turn;
    return { go: false, untilMs: Math.max(turn, now + RETRY_SOON_MS), write: true };
  }
  // No turn to hand out: spread such jobs 1/perSecond apart, so they do not all come back at once.
  const until = Math.max(turn, now + 1, state.nextSlot ?? 0);
  state.nextSlot = until + 1000 / s.perSecond!;
  return { go: false, untilMs: until, write: true };
}

/**
 * maxConcurrency, every slot taken: when a call in flight is expected to end
 * (its start + the recent duration), if under a second from now and no other
 * waiting job has that call's end (the k-th job told so gets the k-th end).
 * A job told so before keeps its place (nothing to write) and asks again a
 * little later while the calls run longer than expected. Undefined: no such
 * end, the job waits the usual second in the queue.
 */
function waitForEnd(
  state: LimiterState,
  now: number,
  owner: string | undefined,
): { until: number; write: boolean } | undefined {
  if (owner === undefined) return undefined;
  const running = Object.values(state.calls).filter((c) => c.e === undefined && c.x > now);
  // No call has ended yet (a first burst): the longest-running call's time so far stands in for the duration.
  const dur = state.dur ?? Math.max(0, ...running.map((c) => now - c.s));
  const soon = (state.soon ??= {});
  // A place not taken a second after its time is given up (the job went back to the queue, or died).
  let write = false;
  for (const [key, t] of Object.entries(soon)) {
    if (t >= now - MIN_WAIT_MS) continue;
    delete soon[key];
    write = true;
  }
  const ends = running.map((c) => c.s + dur).sort((a, b) => a - b);
  const mine = soon[owner];
  const ahead = Object.entries(soon).filter(([key, t]) => key !== owner && (mine === undefined || t <= mine)).length;
  const end = ends[ahead];
  if (end === undefined) return undefined;
  // Past its expected end, the call is asked after again and again less often: a quarter of a call, or half its overrun.
  const until = Math.max(end, now + Math.max(RETRY_SOON_MS, Math.round(dur / 4), Math.round((now - end) / 2)));
  if (mine !== undefined) return { until, write };
  if (until - now >= MIN_WAIT_MS) return undefined;
  soon[owner] = until;
  return { until, write: true };
}

/**
 * Decides one job's turn; `next` is the record to write (undefined: nothing to write).
 * `owner` (the job's id) keeps a perSecond turn across the job's waits.
 */
export function decideAcquire(
  prev: LimiterState | undefined,
  s: LimitSettings,
  now: number,
  id: string,
  owner?: string,
): { result: Acquired; next?: LimiterState } {
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
  if (s.maxConcurrency !== undefined && inFlight >= s.maxConcurrency) {
    const soon = waitForEnd(state, now, owner);
    if (!soon) return refuse('CONCURRENCY_LIMIT', now + MIN_WAIT_MS);
    return {
      result: { wait: { reason: 'CONCURRENCY_LIMIT', untilMs: soon.until, soon: true } },
      ...(soon.write && { next: state }),
    };
  }
  if (!probe && guarded(state, s, now) && state.failures + inFlight >= s.failureThreshold) {
    return refuse(state.failures > 0 ? 'CIRCUIT_OPEN' : 'CONCURRENCY_LIMIT', now + MIN_WAIT_MS);
  }
  let startAt: number | undefined;
  if (s.perSecond !== undefined) {
    // A call counts from its start until a second after it ended: the service saw it somewhere in between.
    const rate = decideRate(state, s, now, windowMs, owner);
    if (!rate.go)
      return { result: { wait: { reason: 'RATE_LIMIT', untilMs: rate.untilMs } }, ...(rate.write && { next: state }) };
    startAt = rate.startAt;
  }
  const tracked = probe || s.maxConcurrency !== undefined || s.perSecond !== undefined || guarded(state, s, now);
  if (!tracked) {
    // Not guarded: no failures and a recent success, refreshed by applyRelease once half a cool-down old.
    const quietUntil = s.breaker ? state.lastOkAt! + s.cooldownMs / 2 : Number.POSITIVE_INFINITY;
    return { result: { permit: { id, tracked: false, probe: false, quietUntil } } };
  }
  const start = startAt ?? now;
  if (owner !== undefined && state.soon?.[owner] !== undefined) delete state.soon[owner];
  state.calls[id] = { s: start, x: start + s.leaseMs };
  if (probe) state.probe = { id, x: start + s.leaseMs };
  return { result: { permit: { id, tracked: true, probe, ...(startAt !== undefined && { startAt }) } }, next: state };
}

/** The record after a call ended (undefined: nothing to write). */
export function applyRelease(
  prev: LimiterState | undefined,
  s: LimitSettings,
  permit: Permit,
  outcome: CallOutcome,
  now: number,
): LimiterState | undefined {
  const state = structuredClone(prev ?? emptyState());
  let changed = false;
  const slot = state.calls[permit.id];
  if (slot && slot.e === undefined) {
    endCall(state, permit.id, now);
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
  if (
    outcome.kind === 'ok' ||
    (outcome.kind === 'failed' && !outcome.retryable) ||
    (outcome.kind === 'failed' && outcome.statusCode === 429)
  ) {
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

/** A call's end: its slot counts a window longer; perSecond plans turns with the calls' recent duration. */
function endCall(state: LimiterState, id: string, at: number): void {
  const slot = state.calls[id]!;
  slot.e = at;
  state.dur = Math.round(state.dur === undefined ? at - slot.s : 0.8 * state.dur + 0.2 * (at - slot.s));
}

/** The record as read, with the call ends recorded beside it (LimiterStateStore.end) taken in. */
export function absorbEnded(
  state: LimiterState | undefined,
  ended: Record<string, number> | undefined,
): LimiterState | undefined {
  if (!state || !ended) return state;
  for (const [id, at] of Object.entries(ended))
    if (state.calls[id] && state.calls[id].e === undefined) endCall(state, id, at);
  return state;
}

/**
 * Port: the shared record of one connector, written only if unchanged since read
 * (DynamoDB: adapters/limiter-store.ts).
 * Call ends are recorded beside it without a read (`end`), so a call frees its
 * slot at once however busy the record is; they are taken into the record by
 * the next write. An end does not move the version: a decision made without it
 * only saw a slot busy a little longer (never freer than it is), so it stands,
 * and the record's one writer at a time is not made to start over five times
 * a second by the calls' ends (issue 13).
 */
export interface LimiterStateStore {
  read(
    connectorId: string,
  ): Promise<{ state: LimiterState; version: number; ended?: Record<string, number> } | undefined>;
  /**
   * false when another worker wrote it first. Clears the ends `absorbed` (those read
   * with the record: the state has them now); ends recorded since stay for the next write.
   */
  write(
    connectorId: string,
    state: LimiterState,
    expectedVersion: number | undefined,
    absorbed?: readonly string[],
  ): Promise<boolean>;
  /** Records that call `callId` ended at `at`; false when the record cannot take it (then it is written the usual way). */
  end(connectorId: string, callId: string, at: number): Promise<boolean>;
}

const CONFLICT_TRIES = 20;
/** A refusal's write only hands out a turn or spreads the waits: a few tries, then it stands as decided. */
const REFUSAL_TRIES = 6;

export class ConnectorLimiter {
  constructor(
    private readonly store: LimiterStateStore,
    private readonly now: () => number = Date.now,
    private readonly pause: (ms: number) => Promise<unknown> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  /** `owner`: the job asking, so that it keeps its turn when it comes back (perSecond). */
  async acquire(connectorId: string, settings: LimitSettings, owner?: string): Promise<Acquired> {
    const id = randomUUID();
    return this.update(
      connectorId,
      (state, now) => decideAcquire(state, settings, now, id, owner),
      (r) => r,
      (): Acquired => ({
        wait: {
          reason: settings.maxConcurrency !== undefined ? 'CONCURRENCY_LIMIT' : 'RATE_LIMIT',
          untilMs: this.now() + 1000 + Math.random() * 1000,
        },
      }),
    );
  }

  /** `endedAt`: when the call returned (the writes after it do not lengthen its slot). */
  async release(
    connectorId: string,
    settings: LimitSettings,
    permit: Permit,
    outcome: CallOutcome,
    endedAt = this.now(),
  ): Promise<void> {
    // An untracked call holds no slot: nothing to write when it reached nothing, or succeeded while the
    // record's last success is still recent (one read fewer per job on a healthy connector).
    if (!permit.tracked && (outcome.kind === 'none' || (outcome.kind === 'ok' && endedAt <= (permit.quietUntil ?? -1))))
      return;
    const record = () =>
      this.update(
        connectorId,
        (state, now) => ({
          result: undefined,
          next: applyRelease(state, settings, permit, outcome, Math.min(now, endedAt)),
        }),
        () => undefined,
      );
    if (outcome.kind !== 'failed') {
      // The slot first, in one unconditional write; then what the outcome tells the breaker (usually nothing to write).
      if (permit.tracked) await this.store.end(connectorId, permit.id, Math.min(this.now(), endedAt));
      return record();
    }
    // A failure frees the slot and counts against the breaker (or slows the connector) in the same write:
    // freed first, another call would start before the failure is seen.
    try {
      await record();
    } catch (error) {
      if (permit.tracked) await this.store.end(connectorId, permit.id, Math.min(this.now(), endedAt));
      throw error;
    }
  }

  /**
   * Read, decide, write if unchanged; on a lost race decide again on the new record.
   * A refusal stands even if its write (only the spreading of waits) loses the race:
   * many waiting jobs then do not fight over the record.
   *
   * Decisions asked for while this process's cycle on the record is under way
   * (the worker's other invocations or records) wait for it and are then made
   * together, one after the other on the same record, in one read and one
   * write: a group commit. The record takes only so many writes a second (one
   * read and one write each, and every other worker's write in between makes it
   * start over), and a perSecond job needs two of them (its turn, then its
   * call); one write per job each would starve the calls (issue 13).
   */
  private update<R, T>(
    connectorId: string,
    decide: (state: LimiterState | undefined, now: number) => { result: R; next?: LimiterState },
    out: (r: R) => T,
    busy?: () => R,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const pending: Pending = {
        decide: (state, now) => {
          const { result, next } = decide(state, now);
          const refusal = !!result && typeof result === 'object' && 'wait' in result;
          return { next, refusal, settle: () => resolve(out(result)) };
        },
        ...(busy && { busy: () => resolve(out(busy())) }),
        fail: reject,
      };
      const queue = this.queued.get(connectorId);
      if (queue) return void queue.push(pending);
      const fresh = [pending];
      this.queued.set(connectorId, fresh);
      // drain never rejects: it settles every caller's promise, with an error if need be.
      void this.drain(connectorId, fresh);
    });
  }

  /** Decisions waiting for this process's next cycle on a connector's record (a queue per connector while one runs). */
  private readonly queued = new Map<string, Pending[]>();

  private async drain(connectorId: string, queue: Pending[]): Promise<void> {
    try {
      while (queue.length > 0) await this.commit(connectorId, queue.splice(0));
    } finally {
      this.queued.delete(connectorId);
    }
  }

  /** One group's cycles: every decision of the group is settled when it returns. */
  private async commit(connectorId: string, group: Pending[]): Promise<void> {
    let open = group;
    try {
      for (let tries = 1; open.length > 0; tries += 1) {
        const current = await this.store.read(connectorId);
        let state = absorbEnded(current?.state, current?.ended);
        let changed = false;
        const decided = open.map((p) => {
          const d = p.decide(state, this.now());
          if (d.next) [state, changed] = [d.next, true];
          return d;
        });
        const absorbed = Object.keys(current?.ended ?? {});
        if (!changed || (await this.store.write(connectorId, state!, current?.version, absorbed))) {
          for (const d of decided) d.settle();
          return;
        }
        const again: Pending[] = [];
        open.forEach((p, i) => {
          if (decided[i]!.refusal && tries >= REFUSAL_TRIES) decided[i]!.settle();
          else if (tries < CONFLICT_TRIES) again.push(p);
          // crowded: wait a moment in the queue rather than fail the message
          else if (p.busy) p.busy();
          else p.fail(new Error(`Limiter record of connector ${connectorId} kept changing under ${tries} tries`));
        });
        open = again;
        if (open.length > 0) await this.pause(5 + Math.random() * 20 * Math.min(tries, 5));
      }
    } catch (error) {
      for (const p of open) p.fail(error);
    }
  }
}

/** A decision waiting for its cycle on the record (ConnectorLimiter.update). */
interface Pending {
  decide(state: LimiterState | undefined, now: number): { next?: LimiterState; refusal: boolean; settle: () => void };
  busy?: () => void;
  fail: (error: unknown) => void;
}

/** In memory, for tests and a single process. */
export class MemoryLimiterStore implements LimiterStateStore {
  private readonly items = new Map<string, { state: LimiterState; version: number; ended: Record<string, number> }>();
  async read(connectorId: string) {
    const item = this.items.get(connectorId);
    return item && structuredClone(item);
  }
  async write(
    connectorId: string,
    state: LimiterState,
    expectedVersion: number | undefined,
    absorbed: readonly string[] = [],
  ) {
    const item = this.items.get(connectorId);
    if (item?.version !== expectedVersion) return false;
    const ended = { ...item?.ended };
    for (const id of absorbed) delete ended[id];
    this.items.set(connectorId, { state: structuredClone(state), version: (expectedVersion ?? 0) + 1, ended });
    return true;
  }
  async end(connectorId: string, callId: string, at: number) {
    const item = this.items.get(connectorId);
    if (!item) return false;
    item.ended[callId] = at;
    return true;
  }
}

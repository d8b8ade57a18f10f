import { loadavg } from 'node:os';
import { startFakeUpstream, type FakeUpstream } from '../local/fake-upstream';
import { startHubProcess, type RunningHub } from '../local/hub-process';

/**
 * Per-connector limits measured where they matter: at a local upstream behind
 * the local hub (real handlers, SQS and DynamoDB emulators). Prints the
 * configured limit next to what the upstream saw and what the jobs achieved.
 */
export interface LimitsBenchOptions {
  /** perSecond run: jobs and the limit (issue 13: 60 jobs at perSecond 5, target >= 4 jobs/s). */
  jobs: number;
  perSecond: number;
  /** maxConcurrency run. */
  maxConcurrency: number;
  concurrencyJobs: number;
  /** Upstream latency of the perSecond run (the maxConcurrency run uses 300 ms, so calls overlap). */
  latencyMs: number;
}

export const RATE_TARGET_SHARE = 0.8;

/** The most arrivals in any window of `ms` (sliding). */
export function maxInWindow(arrivals: number[], ms: number): number {
  const t = [...arrivals].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < t.length; i += 1) {
    while (t[i]! - t[j]! >= ms) j += 1;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

async function submit(hub: RunningHub, connectorId: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  // Ten at a time, as a busy org sends them.
  for (let i = 0; i < n; i += 10) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(10, n - i) }, async (_, k) => {
        const res = await hub.api('POST', `/v1/callouts/${connectorId}/call`, { payload: { n: i + k } });
        if (res.status !== 202) throw new Error(`submit: HTTP ${res.status} ${JSON.stringify(res.body)}`);
        return res.body.jobId as string;
      }),
    );
    ids.push(...batch);
  }
  return ids;
}

/** Waits for the jobs one after the other: one poll at a time, so the measuring does not load the hub it measures. */
async function waitAll(hub: RunningHub, ids: string[]): Promise<{ statuses: Record<string, number>; doneAt: number }> {
  const statuses: Record<string, number> = {};
  for (const id of ids) {
    const job = await hub.waitForJob(id, 300_000);
    statuses[job.status] = (statuses[job.status] ?? 0) + 1;
  }
  return { statuses, doneAt: Date.now() };
}

/** A REST connector `id` at the upstream stand-in (operation `call`: POST /<id>), with these limits if any. */
function putBenchConnector(hub: RunningHub, upstream: FakeUpstream, id: string, limits?: Record<string, number>) {
  return hub.putConnector({
    connectorId: id,
    type: 'rest',
    baseUrl: upstream.url,
    timeoutMs: 5000,
    ...(limits && { limits }),
    operations: { call: { method: 'POST', path: `/${id}` } },
  });
}

/** Submits n jobs and waits for them all: seconds to submit, seconds from the first submit to the last job's end. */
async function timedRun(hub: RunningHub, id: string, n: number) {
  const started = Date.now();
  const ids = await submit(hub, id, n);
  const submittedS = (Date.now() - started) / 1000;
  const { statuses, doneAt } = await waitAll(hub, ids);
  return { statuses, submittedS, elapsedS: (doneAt - started) / 1000 };
}

const load = () =>
  `load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`;

/** The same jobs on a connector without limits: what this machine's hub does at all, now (the limit cannot be reached above it). */
async function baselineRun(hub: RunningHub, upstream: FakeUpstream, o: LimitsBenchOptions): Promise<number> {
  const id = 'bench-free';
  upstream.route(`POST /${id}`, { json: { ok: true }, delayMs: o.latencyMs });
  await putBenchConnector(hub, upstream, id);
  const { submittedS, elapsedS } = await timedRun(hub, id, o.jobs);
  const rate = o.jobs / elapsedS;
  console.log(
    `limits: no limit, ${o.jobs} jobs (${load()}): ${rate.toFixed(2)} jobs/s end to end, submitted in ${submittedS.toFixed(1)} s (the hub's ceiling on this machine now)`,
  );
  return rate;
}

async function perSecondRun(hub: RunningHub, upstream: FakeUpstream, o: LimitsBenchOptions): Promise<void> {
  const id = 'bench-rate';
  upstream.route(`POST /${id}`, { json: { ok: true }, delayMs: o.latencyMs });
  await putBenchConnector(hub, upstream, id, { perSecond: o.perSecond });
  const { statuses, elapsedS } = await timedRun(hub, id, o.jobs);
  const arrivals = upstream.calls(`POST /${id}`).map((c) => c.at);
  const achieved = o.jobs / elapsedS;
  const span = (Math.max(...arrivals) - Math.min(...arrivals)) / 1000;
  const target = o.perSecond * RATE_TARGET_SHARE;
  console.log(`limits: perSecond ${o.perSecond}, ${o.jobs} jobs, upstream latency ${o.latencyMs} ms (${load()})`);
  console.log(
    `  configured ${o.perSecond}/s | achieved ${achieved.toFixed(2)} jobs/s end to end (${elapsedS.toFixed(1)} s; target >= ${target} jobs/s: ${achieved >= target ? 'met' : 'NOT met'})`,
  );
  console.log(
    `  upstream: ${arrivals.length} calls, ${span > 0 ? ((arrivals.length - 1) / span).toFixed(2) : '-'} calls/s first to last, most in any 1-s window: ${maxInWindow(arrivals, 1000)} (limit ${Math.max(1, Math.floor(o.perSecond))}) | jobs ${JSON.stringify(statuses)}`,
  );
}

async function concurrencyRun(hub: RunningHub, upstream: FakeUpstream, o: LimitsBenchOptions): Promise<void> {
  const id = 'bench-conc';
  await putBenchConnector(hub, upstream, id, { maxConcurrency: o.maxConcurrency });
  upstream.reset(); // the most in flight is this run's
  upstream.route(`POST /${id}`, { json: { ok: true }, delayMs: 300 });
  const { statuses, elapsedS } = await timedRun(hub, id, o.concurrencyJobs);
  console.log(`limits: maxConcurrency ${o.maxConcurrency}, ${o.concurrencyJobs} jobs of 300 ms (${load()})`);
  console.log(
    `  configured ${o.maxConcurrency} | most in flight at the upstream: ${upstream.maxInFlight} | ${(o.concurrencyJobs / elapsedS).toFixed(2)} jobs/s (ideal ${(o.maxConcurrency / 0.3).toFixed(1)}) | jobs ${JSON.stringify(statuses)}`,
  );
}

export async function runLimitsBench(o: LimitsBenchOptions): Promise<void> {
  const upstream = await startFakeUpstream();
  const hub = await startHubProcess({ API_NICE: '0' }, [], 90_000);
  try {
    await baselineRun(hub, upstream, o);
    await perSecondRun(hub, upstream, o);
    if (process.env.BENCH_LIMITS_TRACE)
      console.log(
        hub
          .output()
          .split('\n')
          .filter((l) => /bench-rate/.test(l))
          .join('\n'),
      );
    await concurrencyRun(hub, upstream, o);
  } finally {
    await hub.stop();
    await upstream.close();
  }
}

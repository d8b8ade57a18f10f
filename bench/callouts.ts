import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import os from 'node:os';
import { startFakeUpstream, type FakeUpstream } from '../local/fake-upstream';
import { startHubProcess, type RunningHub } from '../local/hub-process';
import { procStat } from '../local/proc';
import { DEFAULT_API_CONCURRENCY, DEFAULT_API_NICE } from '../local/hub';

/**
 * Callout pipeline benchmark through the local hub (a separate process, as
 * `npm start` runs it) against an upstream with fixed latency L and the
 * worker cap C. The bound on completed jobs/s is C / L.
 */
export interface CalloutBenchOptions {
  jobs: number;
  latencyMs: number;
  concurrency: number;
  /** Concurrent submissions from the client. */
  submitConcurrency: number;
  /** Saturated rounds of N jobs run (and shown) before the measured one, while the JIT warms up. */
  warmupRounds: number;
  /** Write a V8 CPU profile of the hub process into this directory. */
  profileDir?: string;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** User + system CPU seconds of a process so far (Linux /proc; clock ticks are 100 Hz). */
function cpuSeconds(pid: number): number {
  const fields = procStat(`/proc/${pid}/stat`);
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

interface Submitted {
  jobId: string;
  submittedAt: number;
}

/**
 * Submits over node:http with keep-alive: the load generator shares the
 * machine with the hub, and fetch (undici on Node 20) costs several times
 * more CPU per request, which would be taken from the hub being measured.
 */
function createSubmitter(hub: RunningHub) {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const target = new URL('/v1/callouts/bench/call', hub.state.baseUrl);
  const submit = (payload: unknown, retried = false): Promise<{ status: number; body: any }> =>
    new Promise((resolve, reject) => {
      const body = JSON.stringify({ payload });
      const req = request(
        { agent, host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-api-key': hub.state.apiKey } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
        },
      );
      // A kept-alive socket the server closed just as it was reused: send again once (as Node's docs advise).
      req.on('error', (err: NodeJS.ErrnoException) => (req.reusedSocket && err.code === 'ECONNRESET' && !retried ? void submit(payload, true).then(resolve, reject) : reject(err)));
      req.end(body);
    });
  return { submit, close: () => agent.destroy() };
}

async function submitAll(hub: RunningHub, count: number, limit: number, pace?: number): Promise<{ submitted: Submitted[]; seconds: number }> {
  const submitted: Submitted[] = [];
  const submitter = createSubmitter(hub);
  const start = performance.now();
  await pool(
    Array.from({ length: count }, (_, i) => i),
    limit,
    async (i) => {
      if (pace) {
        const due = start + i * pace;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      const submittedAt = Date.now();
      const res = await submitter.submit({ i });
      if (res.status !== 202) throw new Error(`submit failed: ${res.status} ${JSON.stringify(res.body)}`);
      submitted.push({ jobId: res.body.jobId, submittedAt });
    },
  );
  const seconds = (performance.now() - start) / 1000;
  submitter.close();
  return { submitted, seconds };
}

async function waitForUpstream(count: () => number, target: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (count() < target) {
    if (Date.now() > deadline) throw new Error(`only ${count()} of ${target} upstream calls after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Waits until the upstream has answered every call, and a moment for the last
 * results to be written: reading a thousand jobs through the API while the
 * last ones run would compete with them for the same CPU and emulators.
 * Completion times come from the jobs' own updatedAt, so waiting adds nothing to them.
 */
async function settle(upstream: FakeUpstream) {
  while (upstream.inFlight > 0) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 100));
}

async function readJobs(hub: RunningHub, submitted: Submitted[]) {
  const jobs: Array<Submitted & { status: string; completedAt: number }> = [];
  await pool(submitted, 20, async (s) => {
    const job = await hub.waitForJob(s.jobId, 60_000);
    jobs.push({ ...s, status: job.status, completedAt: Date.parse(job.updatedAt) });
  });
  return jobs;
}

interface RoundFigures {
  acceptedPerSec: number;
  completedPerSec: number;
  afterSubmitPerSec?: number;
  afterSubmitJobs: number;
  failed: number;
  latency: number[];
  hubCpuMs: number;
  benchCpuMs: number;
  maxInFlight: number;
}

/** All N submitted as fast as the API accepts them; completed jobs/s from the first submission to the last completion. */
async function saturatedRound(hub: RunningHub, upstream: FakeUpstream, opts: CalloutBenchOptions): Promise<RoundFigures> {
  upstream.reset();
  const t0 = Date.now();
  const hubCpu0 = cpuSeconds(hub.state.pid);
  const benchCpu0 = process.cpuUsage();
  const sat = await submitAll(hub, opts.jobs, opts.submitConcurrency);
  const submitEnd = Date.now();
  await waitForUpstream(() => upstream.calls('POST /call').length, opts.jobs, 120_000);
  const hubCpuMs = ((cpuSeconds(hub.state.pid) - hubCpu0) * 1000) / opts.jobs;
  const benchCpu = process.cpuUsage(benchCpu0);
  await settle(upstream);
  const jobs = await readJobs(hub, sat.submitted);
  const lastDone = Math.max(...jobs.map((j) => j.completedAt));
  // The worker side alone: once the API stops taking submissions, the hub's CPU is the workers' and the emulators'.
  const afterSubmit = jobs.filter((j) => j.completedAt > submitEnd).length;
  return {
    acceptedPerSec: opts.jobs / sat.seconds,
    completedPerSec: opts.jobs / ((lastDone - t0) / 1000),
    ...(afterSubmit > opts.concurrency && lastDone > submitEnd && { afterSubmitPerSec: afterSubmit / ((lastDone - submitEnd) / 1000) }),
    afterSubmitJobs: afterSubmit,
    failed: jobs.filter((j) => j.status !== 'SUCCEEDED').length,
    latency: jobs.map((j) => j.completedAt - j.submittedAt - opts.latencyMs).sort((a, b) => a - b),
    hubCpuMs,
    benchCpuMs: (benchCpu.user + benchCpu.system) / 1000 / opts.jobs,
    maxInFlight: upstream.maxInFlight,
  };
}

export async function runCalloutBench(opts: CalloutBenchOptions): Promise<void> {
  const upstream = await startFakeUpstream();
  upstream.route('POST /call', { delayMs: opts.latencyMs, json: { ok: true } });
  const hub = await startHubProcess(
    { WORKER_CONCURRENCY: String(opts.concurrency), POWERTOOLS_LOG_LEVEL: 'ERROR', HUB_THREADS: process.env.HUB_THREADS ?? '1' },
    opts.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.profileDir}`] : [],
  );
  try {
    await hub.putConnector({
      connectorId: 'bench',
      type: 'rest',
      baseUrl: upstream.url,
      retry: { maxAttempts: 1, baseDelayMs: 0 },
      operations: { call: { method: 'POST', path: '/call' } },
    });
    const bound = opts.concurrency / (opts.latencyMs / 1000);
    console.log(`\n== Callouts: N=${opts.jobs}, L=${opts.latencyMs} ms, C=${opts.concurrency} -> bound C/L = ${bound.toFixed(1)} jobs/s`);
    // The hub's defaults unless set in env (see README, "Run it locally").
    console.log(`hub API: ${process.env.API_CONCURRENCY ?? `${DEFAULT_API_CONCURRENCY} (default)`} controller invocation(s) at once (API_CONCURRENCY; 0 = no limit), API thread nice ${process.env.API_NICE ?? `${DEFAULT_API_NICE} (default)`} (API_NICE)`);

    // Warm-up rounds on the fresh hub: its code is still being compiled by the
    // JIT (about twice the CPU per job for the first thousand jobs or two), as a
    // freshly started Lambda's is. Shown; the round after them is the steady state.
    for (let round = 1; round <= opts.warmupRounds; round++) {
      const warm = await saturatedRound(hub, upstream, opts);
      console.log(`warm-up round ${round}            completed ${warm.completedPerSec.toFixed(1)} jobs/s, ratio ${(warm.completedPerSec / bound).toFixed(3)}, hub CPU ${warm.hubCpuMs.toFixed(2)} ms per job${round === 1 ? ' (cold start)' : ''}`);
    }

    const sat = await saturatedRound(hub, upstream, opts);
    console.log(`accepted at the API        ${sat.acceptedPerSec.toFixed(0)} jobs/s (${opts.submitConcurrency} concurrent clients)`);
    console.log(`completed                  ${sat.completedPerSec.toFixed(1)} jobs/s   (${sat.failed} not SUCCEEDED)`);
    if (sat.afterSubmitPerSec !== undefined) {
      console.log(`  after the last submission ${sat.afterSubmitPerSec.toFixed(1)} jobs/s (${sat.afterSubmitJobs} jobs; the workers without the API competing for CPU)`);
    }
    console.log(`ratio to bound C/L         ${(sat.completedPerSec / bound).toFixed(3)}   (target >= 0.9)`);
    console.log(`peak upstream concurrency  ${sat.maxInFlight}   (cap ${opts.concurrency})`);
    console.log(`submit->done minus L       p50 ${percentile(sat.latency, 50)} ms, p99 ${percentile(sat.latency, 99)} ms (saturated: includes queueing behind the cap)`);
    console.log(`CPU per job                hub ${sat.hubCpuMs.toFixed(2)} ms, bench client + upstream ${sat.benchCpuMs.toFixed(2)} ms (${os.availableParallelism()} cores)`);

    // Light load: submissions paced at a tenth of the bound (well under the hub's CPU capacity),
    // so submit->done minus L is the pipeline's own overhead, not queueing.
    upstream.reset();
    const paced = Math.min(opts.jobs, 300);
    const un = await submitAll(hub, paced, opts.submitConcurrency, 1000 / (bound / 10));
    await waitForUpstream(() => upstream.calls('POST /call').length, paced, 120_000);
    const unJobs = await readJobs(hub, un.submitted);
    const unLatency = unJobs.map((j) => j.completedAt - j.submittedAt - opts.latencyMs).sort((a, b) => a - b);
    console.log(`submit->done minus L       p50 ${percentile(unLatency, 50)} ms, p99 ${percentile(unLatency, 99)} ms (light load, ${(bound / 10).toFixed(0)} jobs/s, ${paced} jobs: pipeline overhead)`);
    console.log(`hub peak RSS               ${peakRssMb(hub.state.pid).toFixed(0)} MB (one process: API, worker, poller, dynalite, fauxqs, SSM)`);
  } finally {
    await hub.stop();
    await upstream.close();
  }
}

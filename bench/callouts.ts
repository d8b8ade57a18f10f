import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import os from 'node:os';
import { startFakeUpstream, type FakeUpstream } from '../local/fake-upstream';
import { startHubProcess, type RunningHub } from '../local/hub-process';
import { procStat } from '../local/proc';
import { DEFAULT_API_CONCURRENCY, DEFAULT_API_NICE } from '../local/hub';
import { measureEmulatorFloor } from './floor';

/**
 * Callout pipeline benchmark through the local hub (a separate process, as
 * `npm start` runs it) against an upstream with fixed latency L and the
 * worker cap C. The bound on completed jobs/s is C / L. Issue 15's figures, in
 * one run on one hub: the first burst of the fresh hub (no warm-up), the warm
 * third round of N jobs at each L, the overhead at light load, CPU per job and
 * peak RSS.
 */
export interface CalloutBenchOptions {
  /** N of the saturated rounds. */
  jobs: number;
  /** Fixed upstream latencies L of the saturated rounds (the first one also for the first burst and light load). */
  latenciesMs: number[];
  concurrency: number;
  /** Concurrent submissions from the client. */
  submitConcurrency: number;
  /** Jobs of the first burst, sent to the freshly started hub. */
  burstJobs: number;
  /** Saturated rounds of N jobs at the first L; the last one is measured (the ones before warm the JIT). */
  rounds: number;
  /** Write a V8 CPU profile of the hub process into this directory. */
  profileDir?: string;
}

/** Issue 15's targets. */
const TARGETS = {
  firstBurst: 0.9,
  /** Warm round, by L (ms); other latencies are held to the lower one. */
  warm: (latencyMs: number) => (latencyMs >= 200 ? 0.97 : 0.95),
  overheadP50Ms: 5,
  overheadP99Ms: 15,
  cpuPerJobMs: 3,
  peakRssMb: 300,
};

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
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            'x-api-key': hub.state.apiKey,
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
        },
      );
      // A kept-alive socket the server closed just as it was reused: send again once (as Node's docs advise).
      req.on('error', (err: NodeJS.ErrnoException) =>
        req.reusedSocket && err.code === 'ECONNRESET' && !retried
          ? void submit(payload, true).then(resolve, reject)
          : reject(err),
      );
      req.end(body);
    });
  return { submit, close: () => agent.destroy() };
}

async function submitAll(
  hub: RunningHub,
  count: number,
  limit: number,
  pace?: number,
): Promise<{ submitted: Submitted[]; seconds: number }> {
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
  jobs: number;
  latencyMs: number;
  bound: number;
  acceptedPerSec: number;
  completedPerSec: number;
  ratio: number;
  afterSubmitPerSec?: number;
  afterSubmitJobs: number;
  failed: number;
  latency: number[];
  hubCpuMs: number;
  benchCpuMs: number;
  maxInFlight: number;
}

/** All `jobs` submitted as fast as the API accepts them; completed jobs/s from the first submission to the last completion. */
async function saturatedRound(
  hub: RunningHub,
  upstream: FakeUpstream,
  opts: CalloutBenchOptions,
  jobs: number,
  latencyMs: number,
): Promise<RoundFigures> {
  upstream.route('POST /call', { delayMs: latencyMs, json: { ok: true } });
  upstream.reset();
  const t0 = Date.now();
  const hubCpu0 = cpuSeconds(hub.state.pid);
  const benchCpu0 = process.cpuUsage();
  const sat = await submitAll(hub, jobs, opts.submitConcurrency);
  const submitEnd = Date.now();
  await waitForUpstream(() => upstream.calls('POST /call').length, jobs, 120_000);
  const hubCpuMs = ((cpuSeconds(hub.state.pid) - hubCpu0) * 1000) / jobs;
  const benchCpu = process.cpuUsage(benchCpu0);
  await settle(upstream);
  const done = await readJobs(hub, sat.submitted);
  const lastDone = Math.max(...done.map((j) => j.completedAt));
  // The worker side alone: once the API stops taking submissions, the hub's CPU is the workers' and the emulators'.
  const afterSubmit = done.filter((j) => j.completedAt > submitEnd).length;
  const bound = opts.concurrency / (latencyMs / 1000);
  const completedPerSec = jobs / ((lastDone - t0) / 1000);
  return {
    jobs,
    latencyMs,
    bound,
    acceptedPerSec: jobs / sat.seconds,
    completedPerSec,
    ratio: completedPerSec / bound,
    ...(afterSubmit > opts.concurrency &&
      lastDone > submitEnd && { afterSubmitPerSec: afterSubmit / ((lastDone - submitEnd) / 1000) }),
    afterSubmitJobs: afterSubmit,
    failed: done.filter((j) => j.status !== 'SUCCEEDED').length,
    latency: done.map((j) => j.completedAt - j.submittedAt - latencyMs).sort((a, b) => a - b),
    hubCpuMs,
    benchCpuMs: (benchCpu.user + benchCpu.system) / 1000 / jobs,
    maxInFlight: upstream.maxInFlight,
  };
}

/** Light load: submissions paced at a tenth of the bound, so submit->done minus L is the pipeline's own overhead, not queueing. */
async function lightLoad(
  hub: RunningHub,
  upstream: FakeUpstream,
  opts: CalloutBenchOptions,
  jobs: number,
  latencyMs: number,
): Promise<number[]> {
  upstream.route('POST /call', { delayMs: latencyMs, json: { ok: true } });
  upstream.reset();
  const rate = opts.concurrency / (latencyMs / 1000) / 10;
  const un = await submitAll(hub, jobs, opts.submitConcurrency, 1000 / rate);
  await waitForUpstream(() => upstream.calls('POST /call').length, jobs, 120_000);
  await settle(upstream);
  const done = await readJobs(hub, un.submitted);
  return done.map((j) => j.completedAt - j.submittedAt - latencyMs).sort((a, b) => a - b);
}

const ok = (met: boolean) => (met ? 'ok' : 'MISSED');
const load = () =>
  `load average ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`;

function printRound(label: string, r: RoundFigures, target: number): void {
  console.log(
    `${label.padEnd(34)} ${r.completedPerSec.toFixed(1).padStart(6)} jobs/s of bound ${r.bound.toFixed(0)}: ratio ${r.ratio.toFixed(3)}  target >= ${target} ${ok(r.ratio >= target)}` +
      `   (accepted ${r.acceptedPerSec.toFixed(0)} jobs/s${r.afterSubmitPerSec !== undefined ? `, ${r.afterSubmitPerSec.toFixed(1)} jobs/s after the last submission` : ''}, peak upstream ${r.maxInFlight}, hub CPU ${r.hubCpuMs.toFixed(2)} ms/job${r.failed ? `, ${r.failed} NOT SUCCEEDED` : ''}; ${load()})`,
  );
}

export async function runCalloutBench(opts: CalloutBenchOptions): Promise<void> {
  const upstream = await startFakeUpstream();
  const [firstL, ...otherLs] = opts.latenciesMs as [number, ...number[]];
  const hub = await startHubProcess(
    {
      WORKER_CONCURRENCY: String(opts.concurrency),
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      HUB_THREADS: process.env.HUB_THREADS ?? '1',
    },
    opts.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.profileDir}`] : [],
  );
  let warmCpuMs: number | undefined;
  try {
    await hub.putConnector({
      connectorId: 'bench',
      type: 'rest',
      baseUrl: upstream.url,
      retry: { maxAttempts: 1, baseDelayMs: 0 },
      operations: { call: { method: 'POST', path: '/call' } },
    });
    console.log(
      `\n== Callouts through the local hub: C=${opts.concurrency}, ${opts.submitConcurrency} concurrent clients; the bound is C/L jobs/s (${os.availableParallelism()} cores, ${load()})`,
    );
    // The hub's defaults unless set in env (see README, "Run it locally").
    console.log(
      `hub API: ${process.env.API_CONCURRENCY ?? `${DEFAULT_API_CONCURRENCY} (default)`} controller invocation(s) at once (API_CONCURRENCY; 0 = no limit), API thread nice ${process.env.API_NICE ?? `${DEFAULT_API_NICE} (default)`} (API_NICE)`,
    );

    // The freshly started hub, as after `npm start`: no warm-up, its code still compiled by the JIT as it goes.
    const burst = await saturatedRound(hub, upstream, opts, opts.burstJobs, firstL);
    printRound(`first burst: ${opts.burstJobs} jobs, L=${firstL} ms`, burst, TARGETS.firstBurst);

    let warm: RoundFigures | undefined;
    for (let round = 1; round <= opts.rounds; round++) {
      warm = await saturatedRound(hub, upstream, opts, opts.jobs, firstL);
      if (round < opts.rounds)
        console.log(
          `  round ${round} of ${opts.rounds} (warming up): ratio ${warm.ratio.toFixed(3)}, hub CPU ${warm.hubCpuMs.toFixed(2)} ms/job`,
        );
    }
    printRound(`warm round ${opts.rounds}: N=${opts.jobs}, L=${firstL} ms`, warm!, TARGETS.warm(firstL));
    for (const latencyMs of otherLs) {
      const r = await saturatedRound(hub, upstream, opts, opts.jobs, latencyMs);
      printRound(`warm: N=${opts.jobs}, L=${latencyMs} ms`, r, TARGETS.warm(latencyMs));
    }
    warmCpuMs = warm!.hubCpuMs;
    const peakRss = peakRssMb(hub.state.pid);
    console.log(
      `  submit->done minus L, saturated: p50 ${percentile(warm!.latency, 50)} ms, p99 ${percentile(warm!.latency, 99)} ms (queueing behind the cap)`,
    );

    const lightJobs = Math.min(opts.jobs, 200);
    const overhead = await lightLoad(hub, upstream, opts, lightJobs, firstL);
    const p50 = percentile(overhead, 50);
    const p99 = percentile(overhead, 99);
    console.log(
      `overhead: submit->done minus L      p50 ${p50} ms  target <= ${TARGETS.overheadP50Ms} ${ok(p50 <= TARGETS.overheadP50Ms)}, p99 ${p99} ms  target <= ${TARGETS.overheadP99Ms} ${ok(p99 <= TARGETS.overheadP99Ms)}` +
        `   (light load: ${lightJobs} jobs at a tenth of the bound, L=${firstL} ms; ${load()})`,
    );
    console.log(
      `CPU per job, whole hub, warm         ${warm!.hubCpuMs.toFixed(2)} ms  target <= ${TARGETS.cpuPerJobMs} ${ok(warm!.hubCpuMs <= TARGETS.cpuPerJobMs)}` +
        `   (round ${opts.rounds} at L=${firstL} ms; first burst ${burst.hubCpuMs.toFixed(2)} ms; bench client + upstream ${warm!.benchCpuMs.toFixed(2)} ms)`,
    );
    console.log(
      `hub peak RSS                         ${peakRss.toFixed(0)} MB  target <= ${TARGETS.peakRssMb} ${ok(peakRss <= TARGETS.peakRssMb)}   (one process: API, worker, poller, dynalite, fauxqs, SSM; through the N=${opts.jobs} rounds)`,
    );
  } finally {
    await hub.stop();
    await upstream.close();
  }
  // Measured after the hub stopped, so the two do not share the cores.
  const floor = await measureEmulatorFloor(Math.min(opts.jobs, 1000), opts.concurrency);
  console.log(
    `floor under CPU per job             ${floor.cpuMsPerJob.toFixed(2)} ms, ${floor.perSec.toFixed(0)} jobs/s at ${opts.concurrency} at a time; the warm hub uses ${((warmCpuMs ?? NaN) / floor.cpuMsPerJob).toFixed(2)}x it` +
      `; one job alone takes p50 ${floor.aloneMs.p50} ms, p99 ${floor.aloneMs.p99} ms` +
      `   (the AWS calls and HTTP hops one job makes at the least, alone: same SDK clients, same emulators, no handler code; ${load()})`,
  );
}

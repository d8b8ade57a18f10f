// Lambda runs Node 22; the SDK's Node 20 notice is noise in benchmark output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

import { Command } from 'commander';
import { runBundleBench } from './bundles';
import { runCalloutBench } from './callouts';
import { runFilesBench } from './files';
import { WORKER_CONCURRENCY } from '../lambdas/contract/queue';
import { runLimitsBench } from './limits';
import { runObservabilityBench } from './observability';

/** `npm run bench`: prints figures; it asserts nothing. */
const program = new Command('bench')
  .option('--jobs <n>', 'N: jobs per saturated round', '1000')
  .option(
    '--latency <ms,...>',
    'fixed upstream latencies L of the saturated rounds; the first also for the first burst and light load',
    '200,100',
  )
  .option('--concurrency <c>', 'worker cap C', String(WORKER_CONCURRENCY.default))
  .option('--submit-concurrency <n>', 'concurrent API clients', '50')
  .option('--burst-jobs <n>', 'jobs of the first burst sent to the fresh hub', '250')
  .option('--rounds <n>', 'saturated rounds at the first L; the last is the measured warm one', '3')
  .option('--file-mb <n>', 'file size for the files benchmark', '200')
  .option('--only <part>', 'callouts | bundles | files | limits | observability')
  .option('--profile <dir>', 'write a CPU profile of the hub (callouts) into this directory')
  .parse();

async function main() {
  const o = program.opts();
  const want = (part: string) => !o.only || o.only === part;
  if (want('callouts')) {
    await runCalloutBench({
      jobs: Number(o.jobs),
      latenciesMs: String(o.latency).split(',').map(Number),
      concurrency: Number(o.concurrency),
      submitConcurrency: Number(o.submitConcurrency),
      burstJobs: Number(o.burstJobs),
      rounds: Number(o.rounds),
      profileDir: o.profile,
    });
  }
  if (want('files')) await runFilesBench(Number(o.fileMb));
  if (want('bundles')) runBundleBench();
  if (want('observability')) await runObservabilityBench();
  if (want('limits'))
    await runLimitsBench({ jobs: 60, perSecond: 5, maxConcurrency: 3, concurrencyJobs: 15, latencyMs: 20 });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

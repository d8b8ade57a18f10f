import { Command } from 'commander';
import { runBundleBench } from './bundles';
import { runCalloutBench } from './callouts';

/** `npm run bench`: prints figures; it asserts nothing. */
const program = new Command('bench')
  .option('--jobs <n>', 'jobs to submit', '1000')
  .option('--latency <ms>', 'fixed upstream latency L', '100')
  .option('--concurrency <c>', 'worker cap C', '25')
  .option('--submit-concurrency <n>', 'concurrent API clients', '50')
  .option('--only <part>', 'callouts | bundles | files')
  .parse();

async function main() {
  const o = program.opts();
  const want = (part: string) => !o.only || o.only === part;
  if (want('callouts')) {
    await runCalloutBench({ jobs: Number(o.jobs), latencyMs: Number(o.latency), concurrency: Number(o.concurrency), submitConcurrency: Number(o.submitConcurrency) });
  }
  if (want('bundles')) runBundleBench();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

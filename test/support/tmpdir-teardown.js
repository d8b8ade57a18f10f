const { readdirSync, rmSync } = require('node:fs');

/**
 * Jest globalTeardown: fails the run if it left folders of its own in the temporary
 * directory (a CDK App without outdir leaves a cdk.out* folder per synth; tests that
 * make a crm-bridge-* folder remove it), then removes the run's directory either way.
 * Caches of tools (tsx's, for the hub child processes) are not litter.
 */
module.exports = async () => {
  const run = globalThis.__TEST_RUN_TMPDIR__;
  if (!run) return;
  const left = readdirSync(run.dir).filter((name) => /^(cdk\.out|crm-bridge)/.test(name));
  rmSync(run.dir, { recursive: true, force: true });
  if (run.previous === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = run.previous;
  if (left.length > 0) throw new Error(`the tests left ${left.length} temporary folder(s) behind: ${left.join(', ')}`);
};

const { mkdtempSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

/**
 * Jest globalSetup: the run gets a temporary directory of its own (TMPDIR, which
 * the test workers, the hub child processes and os.tmpdir() inherit), so that
 * tmpdir-teardown.js can tell what this run left behind, whatever else runs on
 * the machine.
 */
module.exports = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'jest-run-'));
  globalThis.__TEST_RUN_TMPDIR__ = { dir, previous: process.env.TMPDIR };
  process.env.TMPDIR = dir;
};

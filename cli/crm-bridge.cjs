#!/usr/bin/env node
// Launcher for the TypeScript CLI (run from a clone: `npx crm-bridge ...`).
//
// The CLI runs from one CommonJS file that esbuild builds from cli/main.ts into
// .crm-bridge/cli/ (git-ignored), with the packages left to node_modules. It is
// rebuilt when any of its source files changed (their sizes and mtimes are kept
// next to it), so it never runs stale code. Loading one prebuilt file instead of
// compiling TypeScript through tsx at every start saves a tenth of a second of CPU
// per command (the files benchmark counts it). Where it cannot be built or written
// (no esbuild, a read-only clone), the CLI runs through tsx as before.
'use strict';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const outDir = path.join(root, '.crm-bridge', 'cli');
const bundle = path.join(outDir, 'main.cjs');
const manifest = path.join(outDir, 'inputs.json');

/** True when every recorded input still has its size and mtime (and no input is gone). */
function fresh() {
  let inputs;
  try {
    inputs = JSON.parse(fs.readFileSync(manifest, 'utf8'));
  } catch {
    return false;
  }
  for (const [file, [size, mtimeMs]] of Object.entries(inputs)) {
    const st = fs.statSync(path.join(root, file), { throwIfNoEntry: false });
    if (!st || st.size !== size || st.mtimeMs !== mtimeMs) return false;
  }
  return fs.existsSync(bundle);
}

function build() {
  const esbuild = require('esbuild');
  const result = esbuild.buildSync({
    absWorkingDir: root,
    entryPoints: ['cli/main.ts'],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    packages: 'external', // the SDK, commander, zod, ... load from node_modules as before
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const inputs = {};
  for (const file of Object.keys(result.metafile.inputs)) {
    const st = fs.statSync(path.join(root, file));
    inputs[file] = [st.size, st.mtimeMs];
  }
  fs.mkdirSync(outDir, { recursive: true });
  // Written under temporary names and renamed: CLIs started at once never read half a file.
  const tmp = `.${process.pid}.tmp`;
  fs.writeFileSync(bundle + tmp, result.outputFiles[0].text);
  fs.writeFileSync(manifest + tmp, JSON.stringify(inputs));
  fs.renameSync(bundle + tmp, bundle);
  fs.renameSync(manifest + tmp, manifest);
}

let prebuilt = false;
try {
  if (!fresh()) build();
  prebuilt = true;
} catch {
  // No esbuild, or the clone is read-only: run the sources through tsx.
}
if (prebuilt) {
  require(bundle);
} else {
  require('tsx/cjs');
  require('./main.ts');
}

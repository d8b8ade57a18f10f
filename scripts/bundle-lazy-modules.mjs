// Builds the libraries a Lambda bundle leaves external (LAZY_MODULES in
// lib/constructs/lambda-defaults.ts) into the asset's own node_modules, one
// minified file each, so the handler's main file stays small and Node reads a
// library only when a job first needs it (`import('soap')` -> require("soap")).
// Run by NodejsFunction's afterBundling hook: node bundle-lazy-modules.mjs OUTPUT_DIR OPTIONS_JSON
// OPTIONS_JSON: { lazy: string[], target, minify, sourcemap, alias }
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';

const [outputDir, optionsJson] = process.argv.slice(2);
const options = JSON.parse(optionsJson);
const lazy = options.lazy;
const isLazy = (spec) => lazy.some((m) => spec === m || spec.startsWith(`${m}/`));
// The specifiers a built file still requires from the lazy set (esbuild writes require("x") for externals).
const requiredLazy = (file) =>
  [...readFileSync(file, 'utf8').matchAll(/(?:require|import)\("([^"]+)"\)/g)].map((m) => m[1]).filter(isLazy);

const todo = requiredLazy(join(outputDir, 'index.js'));
const done = new Set();
while (todo.length > 0) {
  const spec = todo.pop();
  if (done.has(spec)) continue;
  done.add(spec);
  // node_modules/<spec>.js: Node's resolution of require("<spec>") from index.js finds it without a package.json.
  const outfile = join(outputDir, 'node_modules', `${spec}.js`);
  buildSync({
    stdin: { contents: `module.exports = require(${JSON.stringify(spec)});`, resolveDir: process.cwd(), loader: 'js' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: options.target,
    minify: options.minify,
    sourcemap: options.sourcemap,
    alias: options.alias,
    // Another lazy library (soap's axios) stays a file of its own, loaded once for both.
    external: lazy.filter((m) => m !== spec && !spec.startsWith(`${m}/`)),
    outfile,
    logLevel: 'error',
  });
  if (!existsSync(outfile)) throw new Error(`no bundle for ${spec}`);
  todo.push(...requiredLazy(outfile));
}
console.error(`lazy modules in ${outputDir}: ${[...done].join(', ') || 'none'}`);

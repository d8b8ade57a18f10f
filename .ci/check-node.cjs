'use strict';
/**
 * Is the running Node inside package.json's engines.node? .ci/run calls this before
 * `npm ci`, when no semver package is installed yet, so it reads only the forms the
 * engines field uses (`^X.Y.Z` and `>=X.Y.Z`, joined by `||`) and refuses any other.
 */
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

function parse(version) {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$/.exec(version.trim());
  if (!m) throw new Error(`not a version: "${version}"`);
  return m.slice(1, 4).map(Number);
}

function compare(a, b) {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

function satisfies(version, range) {
  const v = parse(version);
  return range.split('||').some((raw) => {
    const part = raw.trim();
    let m = /^\^(\d+\.\d+\.\d+)$/.exec(part);
    if (m) {
      const min = parse(m[1]);
      if (min[0] === 0) throw new Error(`engines.node: "${part}" (a caret range below 1.0.0) is not supported here`);
      return v[0] === min[0] && compare(v, min) >= 0;
    }
    m = /^>=\s*(\d+\.\d+\.\d+)$/.exec(part);
    if (m) return compare(v, parse(m[1])) >= 0;
    throw new Error(`engines.node: cannot read "${part}"; use ^X.Y.Z or >=X.Y.Z (see .ci/check-node.cjs)`);
  });
}

module.exports = { satisfies };

if (require.main === module) {
  const range = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')).engines.node;
  console.log(`CI runs Node.js ${process.version}; package.json engines.node is "${range}"`);
  if (!satisfies(process.version, range)) {
    console.error(
      `Node.js ${process.version} is outside package.json engines.node ("${range}"). Use a Node version the README lists as supported.`,
    );
    process.exit(1);
  }
}

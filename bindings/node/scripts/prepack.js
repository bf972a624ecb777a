'use strict';
// `npm pack` / `npm publish` of bindings/node (scripts/package runs it): the tarball must install
// without the repository, so the core's sources are copied into core/ (the addon's fallback build,
// scripts/build-addon.js, builds from there), and the prebuilt addon must be in
// prebuilds/linux-x64/ (scripts/package builds it, bundles libpq and libcurl beside it and sets
// their rpath to $ORIGIN). Both directories are ignored by git.
//   ENRICH_NODE_PACK_NO_PREBUILT=1   pack without a prebuilt addon (installs then build from source)

const fs = require('node:fs');
const path = require('node:path');

const pkg = path.resolve(__dirname, '..');
const repo = path.resolve(pkg, '..', '..');
const CORE = ['CMakeLists.txt', 'cmake', 'include', 'lib', 'capi'];

function fail(message) {
  process.stderr.write(`[enrich prepack] ${message}\n`);
  process.exit(1);
}

if (!fs.existsSync(path.join(repo, 'capi', 'enrich.h'))) fail(`no repository around ${pkg}`);

// One version: package.json's must be the one written in capi/enrich.h.
const header = fs.readFileSync(path.join(repo, 'capi', 'enrich.h'), 'utf8');
const part = (name) => {
  const m = new RegExp(`^#define ENRICH_VERSION_${name} (\\d+)$`, 'm').exec(header);
  if (!m) fail(`capi/enrich.h has no ENRICH_VERSION_${name}`);
  return m[1];
};
const version = `${part('MAJOR')}.${part('MINOR')}.${part('PATCH')}`;
const own = require(path.join(pkg, 'package.json')).version;
if (own !== version) fail(`package.json version ${own} differs from capi/enrich.h's ${version}`);

const core = path.join(pkg, 'core');
fs.rmSync(core, { recursive: true, force: true });
fs.mkdirSync(core);
for (const entry of CORE) {
  fs.cpSync(path.join(repo, entry), path.join(core, entry), { recursive: true });
}

const prebuilt = path.join(pkg, 'prebuilds', 'linux-x64', 'enrich.node');
if (!fs.existsSync(prebuilt) && process.env.ENRICH_NODE_PACK_NO_PREBUILT !== '1') {
  fail(`${path.relative(repo, prebuilt)} is missing: scripts/package builds it (or set ENRICH_NODE_PACK_NO_PREBUILT=1)`);
}
process.stderr.write(`[enrich prepack] core/ staged (${CORE.join(', ')}), version ${version}\n`);

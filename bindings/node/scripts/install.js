'use strict';
// The package's install script. The npm tarball carries a prebuilt addon for linux-x64
// (prebuilds/linux-x64/enrich.node, Node-API so any Node >= 18, with its libpq and libcurl beside
// it): when it loads here, nothing is compiled. Otherwise (another platform, an older glibc, or
// ENRICH_NODE_BUILD_FROM_SOURCE=1) the addon is built from the sources the package carries
// (core/: the C++ core; src/: the addon) with scripts/build-addon.js, which needs cmake, a C++20
// compiler, libpq-dev, libcurl4-openssl-dev and libfmt-dev.
// `npm install --ignore-scripts` skips this script: the prebuilt addon is used as it is.
// In the repository (no core/, no prebuilds/) it builds from the repository, as before.

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const pkg = path.resolve(__dirname, '..');

function log(message) {
  process.stderr.write(`[enrich] ${message}\n`);
}

function prebuiltLoads() {
  const file = path.join(pkg, 'prebuilds', `${process.platform}-${process.arch}`, 'enrich.node');
  if (!fs.existsSync(file)) {
    log(`no prebuilt addon for ${process.platform}-${process.arch}`);
    return false;
  }
  try {
    // In a child process: a library that fails to load must not take this one down.
    execFileSync(process.execPath, ['-e', `require(${JSON.stringify(file)})`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    log(`using the prebuilt addon ${path.relative(pkg, file)}`);
    return true;
  } catch (err) {
    log(`the prebuilt addon does not load here: ${String(err.stderr || err.message).trim().split('\n')[0]}`);
    return false;
  }
}

if (process.env.ENRICH_NODE_BUILD_FROM_SOURCE === '1' || !prebuiltLoads()) {
  log('building the addon from source');
  require('./build-addon.js');
}

'use strict';
// Loads enrich.node once per environment (main thread or Worker) and installs the JS helpers the
// addon calls on the JS thread while it drains completions.

const fs = require('node:fs');
const path = require('node:path');
const { makeError } = require('./errors');
const { decodeRows } = require('./values');
const { makeHttpResponse } = require('./http');

/**
 * Where the addon is, in the order node-gyp-build looks: $ENRICH_NODE_ADDON; else the newest of
 * the package's own build (the install script's fallback, or `npm install` in the repository ->
 * build/Release/enrich.node) and, in the repository, its CMake build (scripts/build ->
 * <repo>/build/node/enrich.node); else the prebuilt addon the npm tarball carries
 * (prebuilds/<platform>-<arch>/enrich.node, its libpq and libcurl beside it).
 */
function addonPath() {
  if (process.env.ENRICH_NODE_ADDON) return process.env.ENRICH_NODE_ADDON;
  const pkg = path.join(__dirname, '..');
  const built = [path.join(pkg, 'build', 'Release', 'enrich.node')];
  // Only inside the repository (not in an installed package's node_modules).
  if (fs.existsSync(path.join(pkg, '..', '..', 'capi', 'enrich.h'))) {
    built.push(path.join(pkg, '..', '..', 'build', 'node', 'enrich.node'));
  }
  const found = built
    .map((file) => {
      try {
        return { file, mtime: fs.statSync(file).mtimeMs };
      } catch {
        return null;
      }
    })
    .filter(Boolean)
    .sort((a, b) => b.mtime - a.mtime);
  if (found.length > 0) return found[0].file;
  const prebuilt = path.join(pkg, 'prebuilds', `${process.platform}-${process.arch}`, 'enrich.node');
  if (fs.existsSync(prebuilt)) return prebuilt;
  throw new Error(
    `enrich: no native addon for ${process.platform}-${process.arch}: no prebuilt one in this ` +
      'package and none built. Run `npm rebuild enrich` (needs cmake, a C++20 compiler, libpq-dev, ' +
      'libcurl4-openssl-dev, libfmt-dev), or scripts/build in the repository, or set ' +
      'ENRICH_NODE_ADDON to an enrich.node file.',
  );
}

const native = require(addonPath());

native.setHelpers({ makeError, decodeRows, makeHttpResponse, jsonParse: JSON.parse });

// process.exit() skips environment cleanup: destroy the clients while the process is whole.
process.on('exit', () => native.shutdown());

module.exports = native;

'use strict';
// Loads enrich.node once per environment (main thread or Worker) and installs the JS helpers the
// addon calls on the JS thread while it drains completions.

const fs = require('node:fs');
const path = require('node:path');
const { makeError } = require('./errors');
const { decodeRows } = require('./values');
const { makeHttpResponse } = require('./http');

/**
 * Where the addon is: $ENRICH_NODE_ADDON, else the newest of the package's own build
 * (`npm install` -> build/Release/enrich.node) and the repository's CMake build
 * (scripts/build -> <repo>/build/node/enrich.node).
 */
function addonPath() {
  if (process.env.ENRICH_NODE_ADDON) return process.env.ENRICH_NODE_ADDON;
  const pkg = path.join(__dirname, '..');
  const found = [
    path.join(pkg, 'build', 'Release', 'enrich.node'),
    path.join(pkg, '..', '..', 'build', 'node', 'enrich.node'),
  ]
    .map((file) => {
      try {
        return { file, mtime: fs.statSync(file).mtimeMs };
      } catch {
        return null;
      }
    })
    .filter(Boolean)
    .sort((a, b) => b.mtime - a.mtime);
  if (found.length === 0) {
    throw new Error(
      'enrich: the native addon is not built. Run `npm install` in bindings/node, or ' +
        'scripts/build in the repository, or set ENRICH_NODE_ADDON to an enrich.node file.',
    );
  }
  return found[0].file;
}

const native = require(addonPath());

native.setHelpers({ makeError, decodeRows, makeHttpResponse, jsonParse: JSON.parse });

// process.exit() skips environment cleanup: destroy the clients while the process is whole.
process.on('exit', () => native.shutdown());

module.exports = native;

'use strict';
// Builds the addon from source: the core's CMake project (the package's core/ in the npm
// tarball, else the repository around <repo>/bindings/node) configured with only the Node addon,
// built into build/cmake and copied to build/Release/enrich.node (lib/native.js looks there).
// scripts/install.js runs it when no prebuilt addon loads; `npm run build-addon` runs it always.
//
// Needs what the repository needs to build (Debian: build-essential cmake pkg-config libpq-dev
// libfmt-dev libcurl4-openssl-dev; ninja-build is used when present) and works offline: the
// Node-API headers come from this Node's include/node, /usr/include/node or node-api-headers.
//
//   ENRICH_NODE_SKIP_BUILD=1   do nothing (an addon built elsewhere: scripts/build, or
//                              ENRICH_NODE_ADDON at run time)
//   ENRICH_SOURCE_DIR=<repo>   the core's sources: by default the package's core/ (the npm tarball
//                              carries a copy, scripts/prepack.js) or else the repository around it
//   ENRICH_NODE_BUILD_TYPE     CMake build type (default Release)

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const pkg = path.resolve(__dirname, '..');

function log(message) {
  process.stderr.write(`[enrich] ${message}\n`);
}

function has(command) {
  try {
    execFileSync(command, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function packageDir(name) {
  try {
    return path.dirname(require.resolve(`${name}/package.json`, { paths: [pkg] }));
  } catch {
    return null;
  }
}

function main() {
  if (process.env.ENRICH_NODE_SKIP_BUILD === '1') {
    log('ENRICH_NODE_SKIP_BUILD=1: not building the addon');
    return;
  }
  const carried = path.join(pkg, 'core');
  const root = path.resolve(
    process.env.ENRICH_SOURCE_DIR ||
      (fs.existsSync(path.join(carried, 'CMakeLists.txt')) ? carried : path.join(pkg, '..', '..')),
  );
  if (!fs.existsSync(path.join(root, 'capi', 'enrich.h')) || !fs.existsSync(path.join(root, 'CMakeLists.txt'))) {
    throw new Error(`enrich sources not found in ${root}: set ENRICH_SOURCE_DIR to the repository`);
  }
  if (!has('cmake')) throw new Error('cmake is required to build the enrich addon (Debian: apt-get install cmake)');
  const build = path.join(pkg, 'build', 'cmake');
  // A build directory configured for another source tree (a copied checkout) cannot be reused.
  const cache = path.join(build, 'CMakeCache.txt');
  if (fs.existsSync(cache)) {
    const home = /^CMAKE_HOME_DIRECTORY:INTERNAL=(.*)$/m.exec(fs.readFileSync(cache, 'utf8'));
    if (!home || path.resolve(home[1]) !== root) fs.rmSync(build, { recursive: true, force: true });
  }
  const args = [
    '-S', root, '-B', build,
    '-DENRICH_BUILD_NODE=ON', '-DENRICH_BUILD_TESTS=OFF', '-DENRICH_BUILD_EXAMPLES=OFF',
    '-DENRICH_BUILD_BENCH=OFF', '-DENRICH_BUILD_PYTHON=OFF',
    `-DCMAKE_BUILD_TYPE=${process.env.ENRICH_NODE_BUILD_TYPE || 'Release'}`,
    `-DNODE_EXECUTABLE=${process.execPath}`,
    `-DENRICH_NODE_SOURCE_DIR=${pkg}`,
  ];
  const addonApi = packageDir('node-addon-api');
  if (addonApi) args.push(`-DNODE_ADDON_API_DIR=${addonApi}`);
  const headers = packageDir('node-api-headers');
  const own = path.join(path.dirname(path.dirname(process.execPath)), 'include', 'node');
  if (!fs.existsSync(path.join(own, 'node_api.h')) && !fs.existsSync('/usr/include/node/node_api.h') && headers) {
    args.push(`-DNODE_API_HEADERS_DIR=${path.join(headers, 'include')}`);
  }
  if (!fs.existsSync(path.join(build, 'CMakeCache.txt')) && has('ninja')) args.push('-G', 'Ninja');
  log(`configuring ${build}`);
  execFileSync('cmake', args, { stdio: 'inherit' });
  log('building enrich.node');
  execFileSync('cmake', ['--build', build, '--target', 'enrich_node', '--parallel'], { stdio: 'inherit' });
  const out = path.join(pkg, 'build', 'Release');
  fs.mkdirSync(out, { recursive: true });
  fs.copyFileSync(path.join(build, 'node', 'enrich.node'), path.join(out, 'enrich.node'));
  log(`built ${path.join(out, 'enrich.node')}`);
}

try {
  main();
} catch (err) {
  log(err.message);
  process.exit(1);
}

'use strict';
// Shared by the node:test suites: where the package, the databases and the analytics stub are.
//   ENRICH_TEST_DSN      superuser DSN of the scripts/pg server (scripts/test, scripts/env.sh)
//   ENRICH_FIXTURE_DSN   database with the article's tables, users 1..2000 (scripts/test seeds it)
//   ENRICH_ORIGINAL_FIXTURE_DSN  where the article's original code reads it (default: the same)
//   ENRICH_ANALYTICS_STUB  path of enrich-analytics-stub (ctest passes it)
//   ENRICH_NODE_ADDON    the enrich.node under test (ctest passes it)

const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const path = require('node:path');
const readline = require('node:readline');

const ROOT = path.resolve(__dirname, '../..');
const PACKAGE = path.join(ROOT, 'bindings/node');
const EXAMPLES = path.join(ROOT, 'examples/fastify');

const TEST_DSN = process.env.ENRICH_TEST_DSN || '';
const FIXTURE_DSN = process.env.ENRICH_FIXTURE_DSN || '';
// The article's original code and the postgres.js baseline (prepared statements on) do not work
// behind PgBouncer in transaction mode; through it, they read the database directly.
const ORIGINAL_FIXTURE_DSN = process.env.ENRICH_ORIGINAL_FIXTURE_DSN || FIXTURE_DSN;
const STUB = process.env.ENRICH_ANALYTICS_STUB || '';

const enrich = require(PACKAGE);

/** Starts the analytics stub on a free port: { url, control(mode, delayMs, extra), stop() }. */
async function startStub() {
  if (!STUB) throw new Error('ENRICH_ANALYTICS_STUB is not set');
  const child = spawn(STUB, ['--port', '0', '--host', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout });
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the stub did not start')), 5000);
    child.once('error', reject);
    lines.once('line', (line) => {
      clearTimeout(timer);
      const m = /^LISTENING (\d+)/.exec(line);
      if (m) resolve(Number(m[1]));
      else reject(new Error(`unexpected stub output: ${line}`));
    });
  });
  lines.on('line', () => {});
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    port,
    async control(mode, delayMs, extra = {}) {
      const q = new URLSearchParams({ mode, ...extra });
      if (delayMs !== undefined) q.set('delay_ms', String(delayMs));
      const r = await fetch(`${url}/__control?${q}`, { method: 'POST' });
      if (!r.ok) throw new Error(`stub control failed: ${r.status}`);
    },
    /** The stub's request counters (requests, hung, served_ok, ...). */
    async stats() {
      const r = await fetch(`${url}/__stats`);
      if (!r.ok) throw new Error(`stub stats failed: ${r.status}`);
      return r.json();
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Runs a Node script in a child process: { code, signal, stdout, stderr, ms }. */
function runNode(script, { args = [], timeoutMs = 20000, env = {} } = {}) {
  return new Promise((resolve) => {
    const start = Date.now();
    const child = spawn(process.execPath, [...args, '-e', script], {
      env: { ...process.env, ENRICH_PACKAGE: PACKAGE, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - start });
    });
  });
}

/** Deterministic pseudo-random integers (mulberry32). */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `predicate()` (may be async) is true; fails naming `what` after `timeoutMs`. */
async function eventually(predicate, what, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await sleep(10);
  }
}

/**
 * A marker that makes one statement findable on the server: put it in a comment of the SQL,
 * `SELECT pg_sleep(30) /* ${marker} *\/`, and waitRunning(marker) finds exactly that one.
 */
function statementMarker(prefix = 'node_marker') {
  return `${prefix}_${process.pid}_${crypto.randomBytes(6).toString('hex')}`;
}

const RUNNING_SQL =
  "SELECT count(*)::int FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() " +
  'AND strpos(query, $1) > 0';

/**
 * Waits until `count` statements whose text holds `marker` run on the server, as a connection of
 * its own sees them in pg_stat_activity. A test that cancels a running statement waits for it
 * first, so that it cancels a statement that runs, not one still on its way.
 */
async function waitRunning(marker, { count = 1, timeoutMs = 10000 } = {}) {
  const monitor = new enrich.Client({ connectionString: TEST_DSN, maxConnections: 1, logLevel: 'off' });
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const n = await monitor.queryValue(RUNNING_SQL, [marker]);
      if (n >= count) return;
      if (Date.now() > deadline) {
        throw new Error(`the statement marked ${marker} was not seen running in pg_stat_activity ` +
          `within ${timeoutMs} ms (${n} of ${count} active)`);
      }
      await sleep(20);
    }
  } finally {
    await monitor.close();
  }
}

/**
 * Fails the suite (it never skips) when an environment variable it needs is missing:
 * scripts/test and ctest set them all.
 */
function requireEnv(...names) {
  const missing = names.filter((name) => !process.env[name]);
  if (missing.length > 0) {
    throw new Error(`${missing.join(', ')} not set: this suite needs them (scripts/test sets them; ` +
      'by hand: scripts/pg start && eval "$(scripts/pg env)"). It fails rather than skips.');
  }
}

module.exports = {
  requireEnv, ROOT, PACKAGE, EXAMPLES, TEST_DSN, FIXTURE_DSN, ORIGINAL_FIXTURE_DSN, STUB, enrich, startStub, runNode, rng,
  sleep, eventually, statementMarker, waitRunning,
};

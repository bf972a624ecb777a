'use strict';
// Quick requests/s of the article's endpoint in its three Node forms, one after the other under
// the same load, in one run:
//   original   examples/fastify/original.js (Fastify + pg + fetch, the article's code)
//   compat     examples/fastify/app.js ENRICH_MODE=compat (run() -> object -> Fastify JSON)
//   fast       examples/fastify/app.js ENRICH_MODE=fast (runJson() bytes -> reply.send)
//
//   node bench/node_fastify_quick.js [--duration 10] [--connections 32] [--analytics 0|1]
// Needs DATABASE_URL (or ENRICH_FIXTURE_DSN) with the article's tables, and the analytics stub
// (ENRICH_ANALYTICS_STUB or build/examples/stub/enrich-analytics-stub). Load: autocannon (from
// examples/fastify's devDependencies) in this process, random user ids among --users (2000).
// Each server is a child process started fresh for its turn, warmed up for 2 s, then measured.
// On a 2-core machine the load generator, the server, its I/O thread and Postgres share the
// cores: compare the rows with each other, not with numbers from elsewhere. The full wrk
// benchmark (all implementations, Python included) is bench's other harness.

const { spawn } = require('node:child_process');
const { createRequire } = require('node:module');
const path = require('node:path');
const readline = require('node:readline');

const ROOT = path.join(__dirname, '..');
const EXAMPLES = path.join(ROOT, 'examples', 'fastify');
const autocannon = createRequire(path.join(EXAMPLES, 'package.json'))('autocannon');

const args = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const DURATION = Number(arg('duration', 10));
const CONNECTIONS = Number(arg('connections', 32));
const ANALYTICS = arg('analytics', '0') === '1';
const USERS = Number(arg('users', 2000));
const DATABASE_URL = process.env.DATABASE_URL_BENCH || process.env.ENRICH_FIXTURE_DSN || process.env.DATABASE_URL;
const STUB = process.env.ENRICH_ANALYTICS_STUB || path.join(ROOT, 'build', 'examples', 'stub', 'enrich-analytics-stub');

function start(command, argv, env) {
  const child = spawn(command, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return child;
}

function firstLine(child, pattern) {
  return new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout });
    const timer = setTimeout(() => reject(new Error('process did not start')), 10000);
    lines.on('line', (line) => {
      const m = pattern.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code}`)));
  });
}

async function stop(child) {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

function load(url, duration) {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url,
        connections: CONNECTIONS,
        duration,
        requests: [
          {
            setupRequest: (req) => {
              const id = 1 + Math.floor(Math.random() * USERS);
              req.path = `/api/users/${id}/enriched${ANALYTICS ? '?includeAnalytics=true' : ''}`;
              return req;
            },
          },
        ],
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
  });
}

async function main() {
  if (!DATABASE_URL) throw new Error('set DATABASE_URL (or ENRICH_FIXTURE_DSN)');
  const stub = start(STUB, ['--port', '0', '--host', '127.0.0.1']);
  const [, stubPort] = await firstLine(stub, /^LISTENING (\d+)/);
  const env = { DATABASE_URL, ANALYTICS_URL: `http://127.0.0.1:${stubPort}`, HOST: '127.0.0.1', LOG_LEVEL: 'error', TZ: 'UTC' };
  const forms = [
    ['original (pg + fetch)', 'original.js', {}],
    ['enrich compat (run)', 'app.js', { ENRICH_MODE: 'compat' }],
    ['enrich fast (runJson)', 'app.js', { ENRICH_MODE: 'fast' }],
  ];
  const rows = [];
  try {
    for (const [name, script, extra] of forms) {
      const port = 30000 + Math.floor(Math.random() * 20000);
      // Fastify logs "Server listening at ..." only at info: poll instead.
      const server = start(process.execPath, [path.join(EXAMPLES, script)], { ...env, ...extra, PORT: String(port) });
      const url = `http://127.0.0.1:${port}`;
      for (let i = 0; ; i++) {
        try {
          const r = await fetch(`${url}/api/users/1/enriched`);
          if (r.status === 200) break;
        } catch {
          // not listening yet
        }
        if (i > 100) throw new Error(`${name} did not start`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await load(url, 2); // warm-up
      const r = await load(url, DURATION);
      rows.push({
        form: name,
        'req/s': Math.round(r.requests.average),
        'p50 ms': r.latency.p50,
        'p99 ms': r.latency.p99,
        non2xx: r.non2xx,
        errors: r.errors + r.timeouts,
      });
      console.log(JSON.stringify(rows[rows.length - 1]));
      await stop(server);
    }
  } finally {
    await stop(stub);
  }
  console.log(`\n${CONNECTIONS} connections, ${DURATION} s each, includeAnalytics=${ANALYTICS}, users 1..${USERS}`);
  console.table(rows);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

'use strict';
// Per-completion cost of the Node bridge (bindings/node): how much JS-thread time one finished
// native operation costs until its promise's continuation has run.
//
//   node bench/node_bridge.js [--n 200000] [--rounds 5]
//   (after scripts/build and `. scripts/env.sh`; ENRICH_TEST_DSN enables the Postgres rows)
//
// Method. N operations are started at once; then the JS thread only drains completions. The JS
// thread's own CPU time during the drain (/proc/thread-self/schedstat: on-CPU nanoseconds of this
// thread only, so the I/O thread and Postgres competing for the 2 cores do not count) divided by
// N is the per-completion cost on the JS thread: waking up (tsfn), enrich_queue_poll, building
// the value, resolving the promise and running one trivial `.then`. The submit cost (the
// synchronous loop that starts the N operations, CPU time of the JS thread too) is separate.
//   - noop plan: a plan whose only step is skipped: JS -> C API -> I/O thread -> queue -> JS with
//     no I/O at all. runJson resolves with a 21-byte Buffer. The purest bridge path.
//   - execute:   `SELECT 1` through Postgres (pipelined), resolved with a number (no rows decoded)
//   - queryValue: the same, with one row decoded by pg-types
//   - baseline:  N pending promises resolved from one setImmediate callback, same continuation,
//     no native code: the floor that any Promise-returning API pays.
// Also printed: completions per tsfn call (the batch the bridge drained per wake-up).

const path = require('node:path');
const fs = require('node:fs');
const { performance } = require('node:perf_hooks');

/** On-CPU nanoseconds of the calling thread (Linux); falls back to wall time elsewhere. */
function threadCpuNs() {
  try {
    return Number(fs.readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
  } catch {
    return performance.now() * 1e6;
  }
}

const enrich = require(path.join(__dirname, '..', 'bindings', 'node'));

const args = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const N = arg('n', 200000);
const ROUNDS = arg('rounds', 5);
const DSN = process.env.ENRICH_TEST_DSN || process.env.DATABASE_URL;

async function measure(start) {
  const stats0 = enrich.bridgeStats();
  let done = 0;
  const onDone = () => {
    done++;
  };
  const t0 = performance.now();
  const c0 = threadCpuNs();
  const promises = new Array(N);
  for (let i = 0; i < N; i++) promises[i] = start(i).then(onDone);
  const c1 = threadCpuNs();
  await Promise.all(promises);
  const c2 = threadCpuNs();
  const t2 = performance.now();
  const stats1 = enrich.bridgeStats();
  if (done !== N) throw new Error(`only ${done} of ${N} completed`);
  const drains = stats1.drains - stats0.drains;
  return {
    submitUs: (c1 - c0) / 1000 / N,
    completeUs: (c2 - c1) / 1000 / N,
    wallOpsPerSec: N / ((t2 - t0) / 1000),
    perDrain: drains > 0 ? (stats1.completions - stats0.completions) / drains : 0,
  };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function bench(name, start) {
  await measure(start); // warm-up
  const runs = [];
  for (let r = 0; r < ROUNDS; r++) runs.push(await measure(start));
  const row = {
    case: name,
    'submit µs/op (JS thread CPU)': median(runs.map((x) => x.submitUs)).toFixed(3),
    'completion µs/op (JS thread CPU)': median(runs.map((x) => x.completeUs)).toFixed(3),
    'ops/s (wall)': Math.round(median(runs.map((x) => x.wallOpsPerSec))),
    'completions per tsfn call': median(runs.map((x) => x.perDrain)).toFixed(1),
  };
  console.log(JSON.stringify(row));
  return row;
}

async function main() {
  console.log(`node ${process.version}, enrich ${enrich.version}, N=${N}, rounds=${ROUNDS} (median)`);
  const rows = [];
  let resolvers = [];
  const later = (i) =>
    new Promise((resolve) => {
      if (resolvers.length === 0) {
        setImmediate(() => {
          const batch = resolvers;
          resolvers = [];
          for (let k = 0; k < batch.length; k++) batch[k][0](batch[k][1]);
        });
      }
      resolvers.push([resolve, i]);
    });
  rows.push(await bench('baseline: JS promises resolved in one batch', later));
  // A client is needed to run a plan; with no DSN the noop plan still never touches Postgres.
  const client = new enrich.Client({ connectionString: DSN || 'host=127.0.0.1 port=1', logLevel: 'off' });
  const noop = enrich.Plan.fromObject({
    name: 'noop',
    inputs: { go: { type: 'boolean', default: false } },
    steps: [{ name: 'x', sql: 'SELECT 1', shape: 'value', when: 'go' }],
  });
  rows.push(await bench('noop plan (no I/O), runJson', () => client.runJson(noop)));
  if (DSN) {
    rows.push(await bench('execute SELECT 1 (Postgres)', () => client.execute('SELECT 1')));
    rows.push(await bench('queryValue SELECT $1 (Postgres, 1 value decoded)', (i) => client.queryValue('SELECT $1::int4', [i])));
  } else {
    console.log('(ENRICH_TEST_DSN not set: Postgres cases skipped)');
  }
  await client.close();
  console.table(rows);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

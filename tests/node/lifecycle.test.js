'use strict';
// Process and thread lifecycles, each in a child process so that a crash or a hang is a failed
// test, not a dead test runner: an idle client lets the process exit, a pending request keeps it
// alive, process.exit() and Worker.terminate() with requests in flight end cleanly, Workers each
// get their own bridge, a client garbage-collected with requests in flight still settles them.

const test = require('node:test');
const assert = require('node:assert/strict');
const { requireEnv, TEST_DSN, runNode } = require('./helpers');

requireEnv('ENRICH_TEST_DSN');

const PRELUDE = `
  const enrich = require(process.env.ENRICH_PACKAGE);
  const DSN = process.env.ENRICH_TEST_DSN;
`;

function clean(r) {
  assert.equal(r.signal, null, `killed by ${r.signal}; stderr: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /Assertion|Segmentation|core dumped|FATAL|terminate called|napi_|Aborted/i);
}

test('an idle client lets the process exit by itself', async () => {
  const r = await runNode(
    `${PRELUDE}
    const logged = [];
    const c = new enrich.Client({ connectionString: DSN, minConnections: 2, logger: { warn: (o) => logged.push(o), info() {}, error() {}, debug() {} } });
    const unused = new enrich.Client(DSN);
    c.queryValue('SELECT 1').then((v) => console.log('value', v));`,
    { timeoutMs: 15000 },
  );
  clean(r);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /value 1/);
  assert.ok(r.ms < 10000, `took ${r.ms} ms`);
});

test('a pending request keeps the process alive until it settles', async () => {
  const r = await runNode(
    `${PRELUDE}
    const c = new enrich.Client(DSN);
    const t = Date.now();
    c.query('SELECT pg_sleep(0.7)').then(() => console.log('done after', Date.now() - t));`,
  );
  clean(r);
  assert.equal(r.code, 0, r.stderr);
  const m = /done after (\d+)/.exec(r.stdout);
  assert.ok(m, `no result printed; stdout: ${r.stdout} stderr: ${r.stderr}`);
  assert.ok(Number(m[1]) >= 650);
});

test('process.exit() with requests in flight ends cleanly', async () => {
  for (const where of ['timer', 'completion', 'sync']) {
    const r = await runNode(
      `${PRELUDE}
      const c = new enrich.Client({ connectionString: DSN, maxConnections: 4 });
      const c2 = new enrich.Client({ connectionString: DSN, ioThreads: 2 });
      for (let i = 0; i < 3000; i++) c.queryValue('SELECT $1::int', [i]).catch(() => {});
      // Slow work on the second client: a statement pipelined behind pg_sleep waits for it.
      c2.query('SELECT pg_sleep(10)').catch(() => {});
      c2.transaction(() => c2.query('SELECT pg_sleep(10)')).catch(() => {});
      c2.httpGet('http://127.0.0.1:9/').catch(() => {});
      const where = ${JSON.stringify(where)};
      if (where === 'timer') setTimeout(() => process.exit(7), 30);
      if (where === 'completion') c.queryValue('SELECT 1').then(() => process.exit(7));
      if (where === 'sync') process.exit(7);`,
    );
    clean(r);
    assert.equal(r.code, 7, `${where}: ${r.stderr}`);
    assert.ok(r.ms < 8000, `${where}: exit took ${r.ms} ms`);
  }
});

test('a Worker terminated with requests in flight ends cleanly', async () => {
  const r = await runNode(
    `${PRELUDE}
    const { Worker } = require('node:worker_threads');
    const src = \`
      const { parentPort } = require('node:worker_threads');
      const enrich = require(process.env.ENRICH_PACKAGE);
      const c = new enrich.Client({ connectionString: process.env.ENRICH_TEST_DSN, maxConnections: 2 });
      const slow = new enrich.Client(process.env.ENRICH_TEST_DSN); // pipelined behind pg_sleep = slow too
      for (let i = 0; i < 2000; i++) c.queryValue('SELECT $1::int', [i]).catch(() => {});
      slow.query('SELECT pg_sleep(10)').catch(() => {});
      slow.transaction(() => slow.query('SELECT pg_sleep(10)')).catch(() => {});
      c.httpGet('http://127.0.0.1:9/').catch(() => {});
      c.queryValue('SELECT 1').then(() => parentPort.postMessage('first'));
      parentPort.postMessage('started');
    \`;
    (async () => {
      for (let round = 0; round < 6; round++) {
        const w = new Worker(src, { eval: true, env: process.env });
        const wanted = round % 2 === 0 ? 'started' : 'first';
        await new Promise((resolve) => w.on('message', (m) => m === wanted && resolve()));
        await new Promise((resolve) => setTimeout(resolve, round * 3));
        console.log('terminated', await w.terminate());
      }
      // The main thread's own bridge is unaffected.
      const c = new enrich.Client(DSN);
      console.log('main', await c.queryValue('SELECT 5'));
      await c.close();
    })();`,
    { timeoutMs: 30000 },
  );
  clean(r);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((r.stdout.match(/terminated 1/g) || []).length, 6, r.stdout);
  assert.match(r.stdout, /main 5/);
});

test('Workers each get their own bridge and run concurrently with the main thread', async () => {
  const r = await runNode(
    `${PRELUDE}
    const { Worker } = require('node:worker_threads');
    const src = \`
      const { parentPort, workerData } = require('node:worker_threads');
      const enrich = require(process.env.ENRICH_PACKAGE);
      const c = new enrich.Client(process.env.ENRICH_TEST_DSN);
      const ps = [];
      for (let i = 0; i < 3000; i++) ps.push(c.queryValue('SELECT $1::int + $2::int', [i, workerData]));
      Promise.all(ps).then(async (vs) => {
        const ok = vs.every((v, i) => v === i + workerData);
        await c.close();
        parentPort.postMessage(ok); // the worker then exits by itself: idle, closed
      });
    \`;
    (async () => {
      const c = new enrich.Client(DSN);
      const workers = [1000, 2000, 3000].map((n) => new Worker(src, { eval: true, workerData: n, env: process.env }));
      const results = workers.map((w) => new Promise((resolve) => w.once('message', resolve)));
      const exits = workers.map((w) => new Promise((resolve) => w.once('exit', resolve)));
      const mine = await Promise.all(Array.from({ length: 3000 }, (_, i) => c.queryValue('SELECT $1::int', [i])));
      console.log('main ok', mine.every((v, i) => v === i));
      console.log('workers ok', (await Promise.all(results)).join(','));
      console.log('worker exits', (await Promise.all(exits)).join(','));
      // process.exit() inside a Worker with requests in flight ends that Worker only.
      const w = new Worker(\`
        const enrich = require(process.env.ENRICH_PACKAGE);
        const c = new enrich.Client(process.env.ENRICH_TEST_DSN);
        for (let i = 0; i < 500; i++) c.queryValue('SELECT $1::int', [i]).catch(() => {});
        c.query('SELECT pg_sleep(10)').catch(() => {});
        // Exit once statements are in flight (exit code 4 if they never get there).
        const t0 = Date.now();
        setInterval(() => {
          if (c.stats().in_flight > 0) process.exit(3);
          if (Date.now() - t0 > 10000) process.exit(4);
        }, 5);
      \`, { eval: true, env: process.env });
      console.log('worker exit code', await new Promise((resolve) => w.once('exit', resolve)));
      console.log('main again', await c.queryValue('SELECT 9'));
    })();`,
    { timeoutMs: 30000 },
  );
  clean(r);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /main ok true/);
  assert.match(r.stdout, /workers ok true,true,true/);
  assert.match(r.stdout, /worker exits 0,0,0/);
  assert.match(r.stdout, /worker exit code 3/);
  assert.match(r.stdout, /main again 9/);
});

test('a client garbage-collected with requests in flight still settles them', async () => {
  const r = await runNode(
    `${PRELUDE}
    let promises;
    (() => {
      const c = new enrich.Client(DSN);
      promises = Array.from({ length: 200 }, (_, i) => c.queryValue('SELECT $1::int', [i]));
      promises.push(c.queryValue('SELECT 200 FROM pg_sleep(0.3)'));
    })();
    globalThis.gc(); globalThis.gc();
    Promise.all(promises).then((vs) => {
      console.log('settled', vs.length, vs.every((v, i) => v === i));
      // Now idle and unreachable: collected and destroyed by its finalizer.
      globalThis.gc();
      setTimeout(() => { globalThis.gc(); console.log('bye'); }, 50);
    });`,
    { args: ['--expose-gc'] },
  );
  clean(r);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /settled 201 true/);
  assert.match(r.stdout, /bye/);
});

// Typed use of the Node binding's declarations (scripts/test: tsc --noEmit -p tests/node/types).
// What a Fastify + TypeScript user writes must type-check against index.d.ts and fastify.d.ts.
import Fastify from 'fastify';
import * as enrich from 'enrich';
import enrichPlugin, { planRoute, replyError } from 'enrich/fastify';

interface UserRow {
  id: string;
  email: string;
}

function makeClient(): enrich.Client {
  const client = new enrich.Client({ connectionString: 'postgresql://localhost/db', max: 8, acquireTimeoutMs: 2000, http2: false, healthCheckIntervalMs: 10_000 });
  const options = client.options();
  const info: enrich.OptionInfo | undefined = enrich.OPTIONS['acquireTimeoutMs'];
  console.log(options?.acquireTimeoutMs, info?.default);
  return client;
}

async function queries(client: enrich.Client): Promise<void> {
  const result = await client.query<UserRow>('SELECT id, email FROM users WHERE id = $1', [42]);
  const first: UserRow | undefined = result.rows[0];
  const one: UserRow | null = await client.queryOne<UserRow>('SELECT * FROM users LIMIT 1');
  const n: number | null = await client.queryValue<number>('SELECT 1');
  const shared: number | null = await client.queryValue<number>('SELECT 1', [], { coalesce: true });
  const batched = await client.queryOne('SELECT * FROM users WHERE id = $1', [1], { batch: 'bigint' });
  const changed: number = await client.execute('UPDATE users SET name = name WHERE false');
  const total: number = await client.transaction(async (tx) => (await tx.execute('SELECT 1')) + 1);
  console.log(first, one, n, shared, batched, changed, total);
  try {
    await client.query('INSERT INTO t VALUES (1)', [], { timeoutMs: 500, signal: AbortSignal.timeout(1000) });
  } catch (err) {
    if (err instanceof enrich.QueryError) {
      const code: string = err.code; // the SQLSTATE, as node-postgres
      const fields: Array<string | undefined> = [err.sqlstate, err.table, err.constraint, err.column, err.detail];
      console.log(code, err.kind, fields, err.retriable);
    } else if (err instanceof enrich.EnrichError) {
      console.log(err.code, err.kind, enrich.httpStatusFor(err));
    }
  }
}

async function server(): Promise<void> {
  const plan = enrich.Plan.load('examples/plans/user_enriched.json', { ANALYTICS_URL: 'http://127.0.0.1:8081' });
  const app = Fastify();
  await app.register(enrichPlugin, { connectionString: 'postgresql://localhost/db?statement_cache=off' });
  app.get<{ Params: { userId: string } }>('/api/users/:userId/enriched', async (request, reply) => {
    const body: Buffer = await app.enrich.runJson(plan, { userId: request.params.userId });
    return reply.type('application/json').send(body);
  });
  planRoute(app, {
    url: '/api/users/:userId/route',
    plan,
    schema: {
      params: { type: 'object', properties: { userId: { type: 'string' } }, required: ['userId'] },
      querystring: { type: 'object', properties: { includeAnalytics: { type: 'boolean', default: false } } },
      response: { 200: { type: 'object' } },
    },
    notFoundMessage: (request) => `not found: ${request.url}`,
    runOptions: { deadlineMs: 1500 },
    inContext: (request, run) => run(),
    logLevel: 'warn',
  });
  planRoute(app, { url: '/other', plan: () => plan, client: app.enrich, notFoundMessage: 'none' });
  app.get('/own/:id', async (request, reply) => {
    try {
      return await app.enrich.runJson(plan, { userId: 1 });
    } catch (err) {
      return replyError(request, reply, err, { notFoundMessage: 'no such user', logFields: { id: 1 } });
    }
  });
  await queries(app.enrich);
  await app.close();
}

void server;

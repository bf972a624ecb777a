// The declarations of the installed npm tarball (index.d.ts, fastify.d.ts) resolve in a
// TypeScript project that installed it: tsc --noEmit (tests/package/check.sh).
import Fastify from 'fastify';
import * as enrich from 'enrich';
import enrichPlugin from 'enrich/fastify';

const version: string = enrich.version;

async function serve(dsn: string): Promise<void> {
  const app = Fastify();
  await app.register(enrichPlugin, { connectionString: dsn, maxConnections: 2 });
  const client: enrich.Client = app.enrich;
  const plan: enrich.Plan = enrich.Plan.load('user_enriched.json');
  const result = await client.query<{ doubled: string }>('SELECT $1::int8 * 2 AS doubled', [21]);
  const doubled: string = result.rows[0].doubled;
  const doc: { user: { id: number } } = await client.run(plan, { userId: 1 });
  const body: Buffer = await client.runJson(plan, { userId: 1 });
  console.log(version, doubled, doc.user.id, body.length);
  await app.close();
}

void serve(process.env.ENRICH_FIXTURE_DSN ?? '');

// The node profile against the real thing: tests/profiles/types.sql through node-postgres with
// its default type parsers and JSON.stringify, compared with `enrich-query --profile node`.
//   TZ=UTC node compare_node.js ENRICH_QUERY_BINARY [DSN]   (default DSN: $ENRICH_TEST_DSN)
// Exit status 0 when both documents are equal byte for byte.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { Client } = require('pg');

async function main() {
  const [binary, dsnArg] = process.argv.slice(2);
  const dsn = dsnArg || process.env.ENRICH_TEST_DSN;
  if (!dsn) throw new Error('ENRICH_TEST_DSN is not set');
  if (process.env.TZ !== 'UTC') throw new Error('run with TZ=UTC (node-postgres reads timestamp and date in local time)');
  const sql = fs.readFileSync(path.join(__dirname, 'types.sql'), 'utf8');
  const client = new Client({ connectionString: dsn });
  await client.connect();
  const { rows } = await client.query(sql);
  await client.end();
  const expected = JSON.stringify(rows);
  const actual = execFileSync(binary, ['--dsn', dsn, '--profile', 'node', '--shape', 'many', sql]).toString().replace(/\n$/, '');
  if (actual === expected) {
    console.log(`node profile: identical to node-postgres + JSON.stringify (${expected.length} chars)`);
    return 0;
  }
  const e = JSON.parse(expected), a = JSON.parse(actual);
  e.forEach((row, i) => {
    for (const key of Object.keys(row)) {
      if (JSON.stringify(row[key]) !== JSON.stringify(a[i][key])) {
        console.log(`row ${row.id} column ${key}: node-postgres ${JSON.stringify(row[key])} != enrich ${JSON.stringify(a[i][key])}`);
      }
    }
  });
  console.error('node profile: differs from node-postgres + JSON.stringify');
  return 1;
}

main().then((code) => { process.exitCode = code; }, (err) => { console.error(err); process.exitCode = 1; });

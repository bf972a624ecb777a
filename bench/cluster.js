'use strict';
// Runs a Fastify app module (one exporting build(), like examples/fastify/original.js) in
// WORKERS node:cluster processes sharing PORT, so that the article's version can be measured at
// the same worker count as the enrich example (whose app.js does the same itself).
//   WORKERS=2 PORT=3000 node bench/cluster.js examples/fastify/original.js
const cluster = require('node:cluster');
const path = require('node:path');

const workers = Number(process.env.WORKERS || 2);
if (cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers)) w.kill('SIGTERM');
    process.exitCode = 0;
  });
} else {
  const { build } = require(path.resolve(process.argv[2]));
  build()
    .then((app) => app.listen({ port: Number(process.env.PORT || 3000), host: process.env.HOST || '127.0.0.1' }))
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}

'use strict';
// The Fastify example with tracing on, as a traced service runs it (scripts/bench --tracing-cost):
// OpenTelemetry's SDK with every request sampled, a batch span processor and an exporter that
// drops the spans, then examples/fastify/app.js (ENRICH_TRACING=1 comes from the variant).
const path = require('node:path');
const { createRequire } = require('node:module');

const fromBinding = createRequire(path.join(__dirname, '..', 'bindings', 'node', 'package.json'));
const api = fromBinding('@opentelemetry/api');
const { AsyncLocalStorageContextManager } = fromBinding('@opentelemetry/context-async-hooks');
const { BasicTracerProvider, BatchSpanProcessor, AlwaysOnSampler } = fromBinding('@opentelemetry/sdk-trace-base');

const dropExporter = { export: (spans, done) => done({ code: 0 }), shutdown: async () => {} };
api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
api.trace.setGlobalTracerProvider(
  new BasicTracerProvider({ sampler: new AlwaysOnSampler(), spanProcessors: [new BatchSpanProcessor(dropExporter)] }),
);

require(path.join(__dirname, '..', 'examples', 'fastify', 'app.js'))
  .build()
  .then((app) => app.listen({ port: Number(process.env.PORT || 3000), host: process.env.HOST || '127.0.0.1' }))
  .catch((err) => {
    console.error(err);
    process.exit(1);
  });

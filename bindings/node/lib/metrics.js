'use strict';
// The client's metrics in a prom-client registry (docs/observability.md). enrich does not depend
// on prom-client: the application passes its registry, and each of the core's families becomes
// one metric of it, read from the core when the registry is scraped. Nothing is counted in JS.

/**
 * Registers `client`'s metric families with a prom-client `registry` (prom-client's `register`
 * or a `new Registry()`). `labels` are added to every sample, for example `{ worker:
 * String(process.pid) }` under node:cluster, where each worker serves its own /metrics.
 */
function registerMetrics(registry, client, { labels = {} } = {}) {
  let snapshot = null;
  let taken = 0;
  // One native read per scrape, not one per family.
  const families = () => {
    if (!snapshot || Date.now() - taken > 50) {
      snapshot = new Map((client.metrics() ?? []).map((f) => [f.name, f]));
      taken = Date.now();
    }
    return snapshot;
  };
  for (const f of client.metrics() ?? []) {
    registry.registerMetric({
      name: f.name,
      help: f.help,
      type: f.type,
      aggregator: 'sum',
      get() {
        const now = families().get(f.name);
        return {
          name: f.name,
          help: f.help,
          type: f.type,
          aggregator: 'sum',
          values: (now?.samples ?? []).map((s) => ({ metricName: s.name, labels: { ...labels, ...s.labels }, value: s.value })),
        };
      },
      reset() {},
    });
  }
}

module.exports = { registerMetrics };

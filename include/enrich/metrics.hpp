#pragma once
/// @file
/// A client's metrics in the Prometheus data model: counters, gauges and histograms, each a
/// family of samples with labels. `Client::metrics()` takes a snapshot; the bindings expose it as
/// a `prometheus_client` collector (Python) and a `prom-client` metric source (Node).
/// docs/observability.md lists every family.

#include <string>
#include <utility>
#include <vector>

namespace enrich {

struct MetricSample {
  std::string name;  ///< the family's name, or with _bucket / _sum / _count for histograms
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
};

struct MetricFamily {
  std::string name;
  std::string type;  ///< "counter", "gauge" or "histogram"
  std::string help;
  std::vector<MetricSample> samples;
};

}  // namespace enrich

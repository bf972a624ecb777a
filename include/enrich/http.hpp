#pragma once
/// @file
/// HTTP requests and responses for the pooled HTTP client (libcurl's multi-socket interface on
/// the client's I/O thread). See `Client::http`.

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "enrich/deadline.hpp"
#include "enrich/version.hpp"

namespace enrich {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

/// One HTTP request.
struct HttpRequest {
  std::string method = "GET";  ///< GET, POST, PUT, DELETE, HEAD, PATCH
  std::string url{};
  HttpHeaders headers{};
  std::string body{};
  /// Timeout of the whole transfer (zero: the client's default). Counted against `deadline`.
  Milliseconds timeout{0};
  /// The caller's deadline; the earlier of this and `timeout` applies.
  Deadline deadline{};
  /// Opt-in retries with backoff and jitter, bounded by the client's retry budget. Only
  /// idempotent methods (GET, HEAD, PUT, DELETE) are ever retried.
  bool retry = false;
  /// PEM file of the CA certificates to verify an HTTPS server with, instead of the client's
  /// `HttpOptions::ca_file` (or the system's store). Empty: the client's.
  std::string ca_file{};
};

/// A response. Any status is a response (a 500 is not an error); transport failures, timeouts,
/// oversized bodies and redirect loops are errors.
struct HttpResponse {
  long status = 0;
  HttpHeaders headers;  ///< names lower-cased, in arrival order
  std::string body;
  std::string effective_url;  ///< after redirects
  long http_version = 0;      ///< 11 for HTTP/1.1, 20 for HTTP/2
  Milliseconds elapsed{0};
  int attempts = 1;  ///< 1 + retries made
  /// Of the last attempt, in microseconds: the TCP (and TLS) connect, 0 on a reused connection;
  /// and the time until the response's first byte.
  std::int64_t connect_us = 0;
  std::int64_t first_byte_us = 0;

  /// First header with this (lower-case) name, or empty.
  std::string header(std::string_view name) const {
    for (const auto& [k, v] : headers)
      if (k == name) return v;
    return {};
  }
};

struct HttpRetryOptions {
  int max_attempts = 3;              ///< including the first
  Milliseconds backoff_initial{50};  ///< doubled per attempt, with full jitter
  Milliseconds backoff_max{1000};
  /// Retries allowed, as a fraction of recent requests (token bucket), plus a floor per second;
  /// keeps a failing service from being hit by a retry storm.
  double budget_ratio = 0.1;
  int budget_min_per_second = 10;
};

struct HttpBreakerOptions {
  bool enabled = true;
  int failure_threshold = 5;     ///< consecutive failures (transport errors, timeouts, 5xx) to open
  Milliseconds cool_down{5000};  ///< open for this long, then one probe request decides
};

/// HTTP client settings.
struct HttpOptions {
  Milliseconds default_timeout{10000};
  Milliseconds connect_timeout{2000};
  std::size_t max_connections_per_host = 32;
  std::size_t max_total_connections = 256;
  std::size_t max_response_bytes = 8 * 1024 * 1024;
  bool verify_tls = true;
  /// PEM file of the CA certificates that verify HTTPS servers; empty: the system's store.
  std::string ca_file{};
  bool http2 = true;  ///< negotiate HTTP/2 where the server offers it (multiplexed)
  long max_redirects = 5;
  std::string user_agent = "enrich/" + std::string(version_text);
  HttpRetryOptions retry{};
  HttpBreakerOptions breaker{};
};

}  // namespace enrich

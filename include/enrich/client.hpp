#pragma once
/// @file
/// `enrich::Client`: a pooled, pipelined Postgres client and a pooled HTTP client, driven by
/// the client's own I/O thread(s), and the runner of plans.
///
/// Model: each I/O thread owns an epoll loop and a shard of the pool. Independent queries from
/// many callers are pipelined on shared connections (libpq pipeline mode), each with its own Sync,
/// so one caller's error never aborts another's. Transactions get a dedicated connection.
///
/// Thread safety: every method of `Client` may be called from any thread. Futures complete on an
/// I/O thread (see `future.hpp` for what that means for continuations). Destroying the client
/// cancels everything still queued or running (each future completes with
/// `ErrorCode::cancelled`) and joins its threads; do not destroy a client from one of its own
/// continuations.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "enrich/deadline.hpp"
#include "enrich/error.hpp"
#include "enrich/export.hpp"
#include "enrich/future.hpp"
#include "enrich/http.hpp"
#include "enrich/log.hpp"
#include "enrich/metrics.hpp"
#include "enrich/pg/params.hpp"
#include "enrich/pg/result.hpp"
#include "enrich/plan.hpp"

namespace enrich {

/// Splits a list of connection strings separated by whitespace, the form of
/// `DATABASE_REPLICA_URL` ("postgresql://a/db postgresql://b/db"; URIs contain no blanks, while
/// multi-host URIs do contain commas), into ClientOptions::replica_dsns.
ENRICH_EXPORT std::vector<std::string> split_dsn_list(std::string_view text);

/// Connection pool settings (per client; split evenly over the I/O threads).
struct PoolOptions {
  std::size_t min_connections = 0;  ///< opened at start and kept open
  std::size_t max_connections = 4;
  /// Queries in flight on one shared connection before another connection (or the wait queue)
  /// is used.
  std::size_t max_pipeline_depth = 64;
  /// How long a query may wait for room on a connection before failing with pool_timeout.
  Milliseconds acquire_timeout{5000};
  /// Requests allowed to wait; one more fails at once with pool_queue_full.
  std::size_t max_waiting = 100000;
  Milliseconds connect_timeout{5000};
  /// Connections above min_connections idle this long are closed.
  Milliseconds idle_timeout{60000};
  /// Connections are retired after this long (+/- lifetime_jitter), once idle.
  Milliseconds max_lifetime{30 * 60 * 1000};
  double lifetime_jitter = 0.2;
  /// Idle connections unused for this long are checked with a ping before reuse.
  Milliseconds health_check_interval{30000};
  /// Reconnect backoff after a failed connect: initial, doubling up to the maximum.
  Milliseconds reconnect_backoff_initial{100};
  Milliseconds reconnect_backoff_max{5000};
};

/// Client settings.
struct ClientOptions {
  /// libpq connection string, key=value or postgresql:// URI.
  std::string dsn{};
  /// Read replicas, one libpq connection string each. Statements that only read
  /// (`pg::is_read_only_sql`) and plans whose SQL steps all only read go to the least loaded
  /// replica with a connection ready; writes, transactions and calls with `use_primary` go to
  /// `dsn`. A read that fails on a replica with SQLSTATE 25006 (it wrote after all, e.g. through
  /// a function) or loses its replica connection is run again on the primary. While no replica
  /// is reachable, reads go to the primary. Each replica gets a pool of its own, sized like the
  /// primary's, keeping at least one connection per I/O thread open (that is how it is found
  /// reachable again). docs/deploy.md.
  std::vector<std::string> replica_dsns{};
  PoolOptions pool{};
  /// Number of I/O threads (each with its own epoll loop and share of the pool).
  std::size_t io_threads = 1;
  /// Use named prepared statements (cached per connection; the name is derived from the SQL, so
  /// it means one statement on every server connection). A pooler found at connect time, or a
  /// 26000/42P05 from the server, turns them off for the whole client. `statement_cache=on|off`
  /// in the DSN wins over this option (docs/deploy.md).
  bool prepared_statements = true;
  /// Prepared statements kept per connection (least recently used are deallocated).
  std::size_t statement_cache_size = 256;
  /// Timeout of a query when the call does not give one; zero means none.
  Milliseconds query_timeout{0};
  /// Single-flight (QueryOptions::coalesce, a plan step's "coalesce"): a shared result larger
  /// than this (libpq's PQresultMemorySize) is not shared. The first caller gets it and every
  /// other caller sends the statement again on its own, so a large result is never held on
  /// behalf of many callers, nor a large statement made the bottleneck of many.
  std::size_t coalesce_max_result_bytes = 1024 * 1024;
  /// The HTTP client (libcurl multi, one per I/O thread).
  HttpOptions http{};
  /// Collect per-step timings for every plan run (PlanOutput::timings), as RunOptions::timings
  /// does for one run.
  bool timings = false;
  /// The bindings create OpenTelemetry spans for plans and queries (docs/observability.md); they
  /// ask for a run's timings only when its span records. The core itself does nothing more.
  bool tracing = false;
  /// Timings, and so spans, carry each statement's text (OpenTelemetry's opt-in db.query.text).
  /// Off by default: a statement's text may hold literal values.
  bool trace_query_text = false;
  /// Where log events go; the default writes JSON lines to stderr.
  LogSink log_sink = stderr_json_sink();
  LogLevel log_level = LogLevel::warning;
};

/// Per-call options.
struct QueryOptions {
  /// Timeout of this query (zero: the client's query_timeout). Includes time waiting for a
  /// connection. On expiry the query is cancelled on the server and the connection kept.
  Milliseconds timeout{0};
  /// The caller's deadline; the earlier of this and `timeout` applies.
  Deadline deadline{};
  /// Run on the primary even if the statement only reads and replicas are configured (to read
  /// what this caller has just written).
  bool use_primary = false;
  /// Single-flight: if an identical statement (same SQL, same parameters, same use_primary) is
  /// in flight, wait for its result instead of sending this one; each caller gets the same
  /// (shared, immutable) QueryResult, or the same error. Opt in only for statements that
  /// merely read: a text check cannot tell that nextval(), random() or a function writes.
  /// Cancelling this call, or its timeout, never affects the other callers; the statement is
  /// cancelled on the server only once all of them gave up. Ignored inside a transaction. Results
  /// over ClientOptions::coalesce_max_result_bytes are not shared. docs/options.md.
  bool coalesce = false;
  /// Batching: the SQL type of the key `$1` ("bigint", "text", "uuid"); empty: off. Statements
  /// with the same SQL, the same other parameters and the same use_primary, submitted in the
  /// same turn of the I/O thread (never waiting for more), go to Postgres as one statement over
  /// the array of their keys (`unnest($1::T[]) WITH ORDINALITY`, the statement as a LATERAL
  /// subquery), and each caller gets exactly its own key's rows, in order. Only for statements
  /// that merely read (pg::is_read_only_sql; else an invalid_argument error). If the batched
  /// statement fails, each caller's statement runs on its own, so an error is that caller's
  /// alone. Cancelling one caller never affects the others. Ignored inside a transaction.
  /// Read during the call only. A view, so that QueryOptions stays trivially destructible: GCC 12
  /// mis-destroys non-trivial temporaries of a co_await expression (a default `QueryOptions{}`).
  /// docs/options.md.
  std::string_view batch{};
};

/// Counters of the pool, summed over the I/O threads (a snapshot; may be slightly stale).
struct PoolStats {
  std::size_t connections = 0;  ///< open or opening
  std::size_t idle = 0;         ///< open with nothing in flight
  std::size_t in_transaction = 0;
  std::size_t in_flight = 0;  ///< queries sent and not yet answered
  std::size_t waiting = 0;    ///< queries waiting for room on a connection
  std::uint64_t connects = 0;
  std::uint64_t connect_failures = 0;
  std::uint64_t cancels_sent = 0;
  // Read replicas (ClientOptions::replica_dsns); the fields above count the primary only.
  std::size_t replica_connections = 0;  ///< open or opening, over all replicas
  std::uint64_t replica_reads = 0;      ///< statements sent to a replica
  /// Reads that went to the primary instead: no replica was serving, a replica refused the
  /// statement (25006) or its connection was lost while it ran.
  std::uint64_t replica_fallbacks = 0;
};

class Client;

namespace detail {
struct Access;  // the library's own way in (lib/core/access.hpp)
}

/// A transaction on a dedicated connection. Obtain with `Client::transaction()`; finish with
/// `commit()` or `rollback()`. Destroying it unfinished rolls back and returns the connection.
/// Use from one caller at a time (queries inside are still pipelined in order).
class ENRICH_EXPORT Transaction {
 public:
  Transaction(Transaction&&) noexcept;
  Transaction& operator=(Transaction&&) noexcept;
  ~Transaction();

  Future<QueryResult> query(std::string sql, Params params = {}, QueryOptions options = {});
  Future<Unit> commit();
  Future<Unit> rollback();
  /// False after commit() or rollback() was called.
  bool active() const;

 private:
  friend class Client;
  struct Impl;
  explicit Transaction(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

/// The pooled Postgres client. See the file comment for the threading model.
class ENRICH_EXPORT Client {
 public:
  /// Starts the I/O threads and opens `min_connections`. Fails with `invalid_argument` for bad
  /// options (the DSN itself is checked by parsing it; connecting happens in the background).
  static Result<std::unique_ptr<Client>> create(ClientOptions options);

  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// Runs one statement with bound parameters ($1, $2, ...).
  Future<QueryResult> query(std::string sql, Params params = {}, QueryOptions options = {});

  /// Starts a transaction (BEGIN) on a dedicated connection.
  Future<Transaction> transaction(QueryOptions options = {});

  /// Sends one HTTP request. Any status is a response; transport failures, timeouts and
  /// oversized bodies are errors; an open circuit fails at once with circuit_open.
  Future<HttpResponse> http(HttpRequest request);

  /// Runs a plan: validates `inputs` (invalid_argument naming the input, before any I/O), runs
  /// the steps concurrently and assembles the JSON document.
  Future<PlanOutput> run(const Plan& plan, Inputs inputs, RunOptions options = {});
  /// The same with the inputs as a JSON object ({"userId": 42}).
  Future<PlanOutput> run_json(const Plan& plan, std::string_view inputs_json,
                              RunOptions options = {});

  PoolStats stats() const;

  /// Counters, gauges and latency histograms of this client (docs/observability.md lists them),
  /// in the Prometheus data model. A snapshot; empty once the client is closed.
  std::vector<MetricFamily> metrics() const;

  /// The options this client runs with.
  const ClientOptions& options() const;

  /// Stops accepting work, cancels what is queued or running, closes connections and joins the
  /// I/O threads. Called by the destructor; safe to call twice.
  void close();

 private:
  friend struct detail::Access;
  struct Impl;
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace enrich

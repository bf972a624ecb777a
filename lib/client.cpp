// Client and Transaction: the thread-safe facade. Each call builds an operation and posts it to
// one I/O thread's pool; nothing here blocks except close().

#include "enrich/client.hpp"

#include <fmt/format.h>

#include "core/event_loop.hpp"
#include "core/fork_guard.hpp"
#include "core/logger.hpp"
#include "core/metrics.hpp"
#include "http/http_client.hpp"
#include "pg/batch_sql.hpp"
#include "pg/canceller.hpp"
#include "pg/conn_params.hpp"
#include "pg/pool_set.hpp"
#include "pg/read_only.hpp"
#include "plan/plan_inputs.hpp"
#include "plan/plan_run.hpp"

namespace enrich {

/// One I/O thread and its pool. Shared with transactions and cancel hooks, which may outlive the
/// client: once the loop is stopped, posts are refused and they complete with `closed`.
struct Shard {
  std::shared_ptr<EventLoop> loop = std::make_shared<EventLoop>();
  // Used on the loop thread only; reset after the loop stopped.
  std::unique_ptr<pg::PoolSet> pools;
  std::unique_ptr<http::HttpClient> http;
};
using ShardPtr = std::shared_ptr<Shard>;

namespace {

// QueryOptions::batch's preconditions; the statement's text is rewritten (and found to have its
// $1) once per SQL on the I/O thread.
std::optional<Error> check_batch(const std::string& sql, const Params& params,
                                 std::string_view key_type) {
  if (!pg::valid_batch_key_type(key_type))
    return Error{ErrorCode::invalid_argument,
                 fmt::format("batch: \"{}\" is not a plain SQL type name such as bigint, text or "
                             "uuid (arrays are not keys)",
                             key_type)};
  if (params.empty())
    return Error{ErrorCode::invalid_argument,
                 "batch: the statement needs the key as its first parameter ($1)"};
  if (!pg::is_read_only_sql(sql))
    return Error{ErrorCode::invalid_argument,
                 "batch is for statements that only read (SELECT, WITH, VALUES)"};
  return std::nullopt;
}

Error closed_error() {
  return Error{ErrorCode::closed, "client is closed"};
}

Error forked_error() {
  return Error{ErrorCode::closed, forked_client_message()};
}

Deadline effective_deadline(const QueryOptions& options, Milliseconds default_timeout) {
  auto timeout = options.timeout.count() > 0 ? options.timeout : default_timeout;
  return earliest(options.deadline, Deadline::after(timeout));
}

/// Why `shard` refused a task.
Error refused_error(const Shard& shard) {
  return shard.loop->forked() ? forked_error() : closed_error();
}

/// Posts `op` to the shard, with a cancel hook that aborts it on the I/O thread.
Future<QueryResult> post_query(const ShardPtr& shard, pg::QueryOpPtr op) {
  Future<QueryResult> future = op->promise.get_future();
  op->promise.on_cancel([shard, weak = std::weak_ptr<pg::QueryOp>(op)] {
    shard->loop->post([shard, weak] {
      if (auto op = weak.lock()) shard->pools->abort(op, ErrorCode::cancelled, "query cancelled");
    });
  });
  EventLoop::Task task = [shard, op] { shard->pools->submit(op); };
  if (!shard->loop->post(task)) op->promise.set_error(refused_error(*shard));
  return future;
}

/// How a server's connections use prepared statements: the DSN's statement_cache=on|off wins
/// over ClientOptions::prepared_statements (the DATABASE_URL is where a deployment says what sits
/// in front of Postgres). One per server: what one connection learns holds for its siblings.
std::shared_ptr<pg::StatementMode> statement_mode(const pg::ConnParams& params,
                                                  const ClientOptions& options) {
  auto mode = std::make_shared<pg::StatementMode>();
  mode->forced_on = params.statement_cache() == true;
  mode->unnamed = !params.statement_cache().value_or(options.prepared_statements);
  return mode;
}

pg::QueryOpPtr make_op(std::string sql, Params params, Deadline deadline) {
  auto op = std::make_shared<pg::QueryOp>();
  op->sql = std::move(sql);
  op->params = std::move(params);
  op->deadline = deadline;
  return op;
}

}  // namespace

std::vector<std::string> split_dsn_list(std::string_view text) {
  std::vector<std::string> out;
  constexpr std::string_view kBlanks = " \t\r\n";
  std::size_t i = 0;
  while ((i = text.find_first_not_of(kBlanks, i)) != std::string_view::npos) {
    std::size_t end = std::min(text.find_first_of(kBlanks, i), text.size());
    out.emplace_back(text.substr(i, end - i));
    i = end;
  }
  return out;
}

// ---- Transaction --------------------------------------------------------------------------------

struct Transaction::Impl {
  ShardPtr shard;
  std::uint64_t connection_id = 0;
  Milliseconds default_timeout{0};
  std::atomic<bool> finished{false};

  Future<QueryResult> run(std::string sql, Params params, Deadline deadline, bool release_after) {
    auto op = make_op(std::move(sql), std::move(params), deadline);
    op->tx_connection = connection_id;
    op->release_after = release_after;
    return post_query(shard, std::move(op));
  }

  Future<Unit> finish(const char* statement) {
    if (finished.exchange(true))
      return make_error_future<Unit>(
          Error{ErrorCode::closed, "transaction already committed or rolled back"});
    return run(statement, {}, Deadline(), true)
        .then([statement](Result<QueryResult> r) -> Result<Unit> {
          if (!r.ok()) return std::move(r).error();
          // COMMIT of a transaction in which a statement failed reports ROLLBACK, not an error.
          if (std::string_view(statement) == "COMMIT" && r.value().command_tag() == "ROLLBACK")
            return Error{ErrorCode::query,
                         "transaction was rolled back because an earlier statement failed",
                         "25P02"};
          return Unit{};
        });
  }
};

Transaction::Transaction(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
Transaction::Transaction(Transaction&&) noexcept = default;
Transaction& Transaction::operator=(Transaction&& other) noexcept {
  if (this != &other) {
    if (impl_ && !impl_->finished) (void)rollback();
    impl_ = std::move(other.impl_);
  }
  return *this;
}
Transaction::~Transaction() {
  if (impl_ && !impl_->finished) (void)rollback();  // result discarded: nobody is waiting
}

Future<QueryResult> Transaction::query(std::string sql, Params params, QueryOptions options) {
  if (!impl_ || impl_->finished)
    return make_error_future<QueryResult>(
        Error{ErrorCode::closed, "transaction already committed or rolled back"});
  // options.coalesce is not passed on: a statement inside a transaction must see the
  // transaction's own snapshot and writes, so it never shares another caller's execution.
  return impl_->run(std::move(sql), std::move(params),
                    effective_deadline(options, impl_->default_timeout), false);
}
Future<Unit> Transaction::commit() {
  if (!impl_) return make_error_future<Unit>(closed_error());
  return impl_->finish("COMMIT");
}
Future<Unit> Transaction::rollback() {
  if (!impl_) return make_error_future<Unit>(closed_error());
  return impl_->finish("ROLLBACK");
}
bool Transaction::active() const {
  return impl_ && !impl_->finished;
}

// ---- Client -------------------------------------------------------------------------------------

struct Client::Impl {
  ClientOptions options;
  Metrics metrics;  // shared by the I/O threads; outlives them (members destroyed after close)
  bool has_replicas = false;
  Logger logger;
  std::unique_ptr<pg::Canceller> canceller;
  std::vector<ShardPtr> shards;
  std::atomic<std::size_t> next_shard{0};
  std::atomic<bool> closed{false};
  std::mutex close_mu;
  unsigned fork_generation = enrich::fork_generation();

  bool forked() const { return fork_generation != enrich::fork_generation(); }

  const ShardPtr& pick() {
    return shards[next_shard.fetch_add(1, std::memory_order_relaxed) % shards.size()];
  }
  /// Statements that must meet (pg/coalescer.hpp, pg/batcher.hpp) go to the I/O thread their key
  /// hashes to.
  const ShardPtr& shard_for(const std::string& key) const {
    return shards[std::hash<std::string>{}(key) % shards.size()];
  }
};

Result<std::unique_ptr<Client>> Client::create(ClientOptions options) {
  auto params = pg::ConnParams::parse(options.dsn);
  if (!params.ok()) return std::move(params).error();
  std::vector<pg::ConnParams> replicas;
  for (std::size_t i = 0; i < options.replica_dsns.size(); ++i) {
    auto replica = pg::ConnParams::parse(options.replica_dsns[i]);
    if (!replica.ok()) {
      Error e = std::move(replica).error();
      e.message = fmt::format("replica_dsns[{}]: {}", i, e.message);
      return e;
    }
    replicas.push_back(std::move(replica).value());
  }
  const auto& pool = options.pool;
  if (options.io_threads == 0 || options.io_threads > 64)
    return Error{ErrorCode::invalid_argument, "option io_threads must be between 1 and 64"};
  if (pool.max_connections < options.io_threads)
    return Error{ErrorCode::invalid_argument,
                 "option max_connections must be at least io_threads (one connection per thread)"};
  if (pool.min_connections > pool.max_connections)
    return Error{ErrorCode::invalid_argument, "option min_connections exceeds max_connections"};
  if (pool.max_pipeline_depth == 0)
    return Error{ErrorCode::invalid_argument, "option max_pipeline_depth must be at least 1"};
  if (pool.lifetime_jitter < 0 || pool.lifetime_jitter >= 1)
    return Error{ErrorCode::invalid_argument, "option lifetime_jitter must be in [0, 1)"};

  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->logger = Logger(options.log_sink, options.log_level);
  impl->canceller = std::make_unique<pg::Canceller>(impl->logger);
  impl->has_replicas = !replicas.empty();
  auto statements = statement_mode(params.value(), options);
  std::vector<std::shared_ptr<pg::StatementMode>> replica_statements;
  for (const auto& replica : replicas)
    replica_statements.push_back(statement_mode(replica, options));
  std::size_t n = options.io_threads;
  for (std::size_t i = 0; i < n; ++i) {
    // Split the pool evenly over the threads; the first ones take the remainder.
    auto share = [&](std::size_t total) { return total / n + (i < total % n ? 1 : 0); };
    pg::PoolSettings settings;
    settings.pool = pool;
    settings.pool.max_connections = share(pool.max_connections);
    settings.pool.min_connections = share(pool.min_connections);
    settings.pool.max_waiting = std::max<std::size_t>(1, share(pool.max_waiting));
    settings.connection.statements = statements;
    settings.connection.statement_cache_size = options.statement_cache_size;
    settings.connection.connect_timeout = pool.connect_timeout;
    settings.connection.metrics = &impl->metrics;
    settings.params = params.value();
    auto shard = std::make_shared<Shard>();
    auto primary =
        std::make_unique<pg::Pool>(*shard->loop, *impl->canceller, settings, impl->logger);
    std::vector<std::unique_ptr<pg::Pool>> replica_pools;
    for (std::size_t r = 0; r < replicas.size(); ++r) {
      pg::PoolSettings rs = settings;
      rs.params = replicas[r];
      rs.connection.statements = replica_statements[r];
      // One connection kept open per thread: a replica is used while one is ready, and a
      // replica that went away is found again by the pool's reconnects.
      rs.pool.min_connections = std::max<std::size_t>(1, rs.pool.min_connections);
      replica_pools.push_back(
          std::make_unique<pg::Pool>(*shard->loop, *impl->canceller, rs, impl->logger));
    }
    shard->pools =
        std::make_unique<pg::PoolSet>(*shard->loop, std::move(primary), std::move(replica_pools),
                                      options.coalesce_max_result_bytes, &impl->metrics);
    shard->http = std::make_unique<http::HttpClient>(*shard->loop, options.http, impl->logger);
    shard->http->set_metrics(&impl->metrics);
    shard->loop->start(fmt::format("enrich-io-{}", i));
    shard->loop->post([s = shard.get()] { s->pools->start(); });
    impl->shards.push_back(std::move(shard));
  }
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Client::~Client() {
  close();
}

void Client::close() {
  if (impl_->forked()) {
    // A child of fork(): the I/O threads are the parent's, the sockets its sessions, and
    // close_mu may have been held at the fork. Leave everything alone (a deliberate leak).
    if (!impl_->closed.exchange(true)) {
      new std::vector<ShardPtr>(std::move(impl_->shards));
      (void)impl_->canceller.release();
    }
    return;
  }
  std::lock_guard lock(impl_->close_mu);
  if (impl_->closed.exchange(true)) return;
  for (auto& shard : impl_->shards) {
    shard->loop->stop([s = shard.get()] {
      s->http->shutdown();
      s->pools->shutdown();
    });
    shard->pools.reset();
    shard->http.reset();
  }
  impl_->canceller.reset();  // sends the cancels queued by shutdown, then joins
}

Future<QueryResult> Client::query(std::string sql, Params params, QueryOptions options) {
  if (impl_->forked()) return make_error_future<QueryResult>(forked_error());
  if (impl_->closed) return make_error_future<QueryResult>(closed_error());
  auto op = make_op(std::move(sql), std::move(params),
                    effective_deadline(options, impl_->options.query_timeout));
  op->use_primary = options.use_primary;
  if (!options.batch.empty()) {
    if (auto e = check_batch(op->sql, op->params, options.batch))
      return make_error_future<QueryResult>(std::move(*e));
    op->coalesce = options.coalesce;
    op->read_only = true;  // checked above: it may share a Sync, and go to a replica if any
    op->batch_type = std::string(options.batch);
    op->batch_key = pg::batch_group_key(op->sql, op->batch_type, op->params, op->use_primary);
    const ShardPtr& shard = impl_->shard_for(op->batch_key);  // before `op` is moved from
    return post_query(shard, std::move(op));
  }
  op->read_only = impl_->has_replicas && !options.use_primary && pg::is_read_only_sql(op->sql);
  if (options.coalesce) {
    op->coalesce = true;
    op->coalesce_key = pg::coalesce_key(op->sql, op->params, op->use_primary);
    const ShardPtr& shard = impl_->shard_for(op->coalesce_key);  // before `op` is moved from
    return post_query(shard, std::move(op));
  }
  return post_query(impl_->pick(), std::move(op));
}

Future<Transaction> Client::transaction(QueryOptions options) {
  if (impl_->forked()) return make_error_future<Transaction>(forked_error());
  if (impl_->closed) return make_error_future<Transaction>(closed_error());
  const ShardPtr& shard = impl_->pick();
  auto request = std::make_shared<pg::TxRequest>();
  request->deadline = effective_deadline(options, impl_->options.query_timeout);
  auto promise = std::make_shared<Promise<Transaction>>();
  Future<Transaction> future = promise->get_future();
  auto default_timeout = impl_->options.query_timeout;
  request->done = [shard, promise, default_timeout,
                   deadline = request->deadline](Result<std::uint64_t> conn) {
    if (!conn.ok()) {
      promise->set_error(std::move(conn).error());
      return;
    }
    auto impl = std::make_shared<Transaction::Impl>();
    impl->shard = shard;
    impl->connection_id = conn.value();
    impl->default_timeout = default_timeout;
    // BEGIN goes through the same pipeline; the transaction is handed out once it succeeded.
    impl->run("BEGIN", {}, deadline, false).subscribe([impl, promise](Result<QueryResult> r) {
      if (!r.ok()) {
        impl->finished = true;
        impl->shard->pools->primary().release(impl->connection_id);
        promise->set_error(std::move(r).error());
        return;
      }
      promise->set_value(Transaction(impl));
    });
  };
  promise->on_cancel([shard, weak = std::weak_ptr<pg::TxRequest>(request)] {
    shard->loop->post([shard, weak] {
      if (auto r = weak.lock()) shard->pools->primary().abort_transaction(r);
    });
  });
  EventLoop::Task task = [shard, request] { shard->pools->primary().begin_transaction(request); };
  if (!shard->loop->post(task)) promise->set_error(refused_error(*shard));
  return future;
}

Future<HttpResponse> Client::http(HttpRequest request) {
  if (impl_->forked()) return make_error_future<HttpResponse>(forked_error());
  if (impl_->closed) return make_error_future<HttpResponse>(closed_error());
  const ShardPtr& shard = impl_->pick();
  auto op = std::make_shared<http::HttpOp>();
  op->request = std::move(request);
  Future<HttpResponse> future = op->promise.get_future();
  op->promise.on_cancel([shard, weak = std::weak_ptr<http::HttpOp>(op)] {
    shard->loop->post([shard, weak] {
      if (auto op = weak.lock()) shard->http->abort(op, ErrorCode::cancelled, "request cancelled");
    });
  });
  EventLoop::Task task = [shard, op] { shard->http->submit(op); };
  if (!shard->loop->post(task)) op->promise.set_error(refused_error(*shard));
  return future;
}

Future<PlanOutput> Client::run(const Plan& plan, Inputs inputs, RunOptions options) {
  if (impl_->forked()) return make_error_future<PlanOutput>(forked_error());
  if (impl_->closed) return make_error_future<PlanOutput>(closed_error());
  const auto& plan_impl = detail::Access::impl(plan);
  if (!plan_impl)
    return make_error_future<PlanOutput>(Error{ErrorCode::invalid_argument, "empty plan"});
  // Inputs are checked here, on the caller's thread, before anything reaches the I/O thread.
  auto bound = bind_inputs(*plan_impl, inputs);
  if (!bound.ok()) return make_error_future<PlanOutput>(std::move(bound).error());
  const ShardPtr& shard = impl_->pick();
  Promise<PlanOutput> promise;
  Future<PlanOutput> future = promise.get_future();
  // Set before the future leaves this function, so no cancel() can race with the assignment.
  auto weak_run = std::make_shared<std::weak_ptr<PlanRun>>();
  promise.on_cancel([shard, weak_run] {
    shard->loop->post([weak_run] {
      if (auto run = weak_run->lock()) run->abort(ErrorCode::cancelled, "plan cancelled");
    });
  });
  PlanRun::Options run_options;
  run_options.profile = options.profile.value_or(plan.profile());
  run_options.deadline = options.deadline;
  run_options.use_primary = options.use_primary;
  run_options.timed = options.timings || impl_->options.timings;
  run_options.query_text = impl_->options.trace_query_text;
  run_options.traceparent = std::move(options.traceparent);
  run_options.tracestate = std::move(options.tracestate);
  auto run = std::make_shared<PlanRun>(
      PlanRun::Env{shard->loop.get(), shard->pools.get(), shard->http.get(), impl_->logger,
                   &impl_->metrics},
      plan_impl, std::move(bound).value(), std::move(run_options), std::move(promise));
  *weak_run = run;
  EventLoop::Task task = [run] { run->start(); };
  if (!shard->loop->post(task)) run->abort(ErrorCode::closed, "client is closed");
  return future;
}

Future<PlanOutput> Client::run_json(const Plan& plan, std::string_view inputs_json,
                                    RunOptions options) {
  auto inputs = parse_inputs_json(inputs_json);
  if (!inputs.ok()) return make_error_future<PlanOutput>(std::move(inputs).error());
  return run(plan, std::move(inputs).value(), std::move(options));
}

bool detail::Access::post_to_io(Client& client, std::function<void()> task) {
  auto& impl = *client.impl_;
  if (impl.forked() || impl.closed) return false;
  EventLoop::Task t = std::move(task);
  return impl.pick()->loop->post(t);
}

const ClientOptions& Client::options() const {
  return impl_->options;
}

std::vector<MetricFamily> Client::metrics() const {
  MetricSources sources;
  {
    if (impl_->forked()) return {};
    std::lock_guard lock(impl_->close_mu);
    if (impl_->closed) return {};
    for (auto& shard : impl_->shards) {
      shard->pools->add_stats(sources.pool);
      auto http = shard->http->stats();
      sources.http_retries += http.retries;
      sources.http_short_circuited += http.short_circuited;
      sources.breakers_opened += http.breakers_opened;
      sources.breakers_open += http.breakers_not_closed;
    }
    sources.pool.cancels_sent = impl_->canceller ? impl_->canceller->sent() : 0;
  }
  return impl_->metrics.families(sources);
}

PoolStats Client::stats() const {
  PoolStats out;
  if (impl_->forked()) return out;
  std::lock_guard lock(impl_->close_mu);
  if (impl_->closed) return out;
  for (auto& shard : impl_->shards) shard->pools->add_stats(out);
  out.cancels_sent = impl_->canceller ? impl_->canceller->sent() : 0;
  return out;
}

}  // namespace enrich

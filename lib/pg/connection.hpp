#pragma once
// One libpq connection in pipeline mode, shared by many callers: every statement is sent with its
// own Sync, except the statements of a read-only group, which share one; results are matched to
// statements in order. Runs entirely on its shard's I/O thread.

#include <libpq-fe.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/event_loop.hpp"
#include "core/logger.hpp"
#include "core/metrics.hpp"
#include "enrich/error.hpp"
#include "enrich/log.hpp"
#include "pg/canceller.hpp"
#include "pg/conn_params.hpp"
#include "pg/query_op.hpp"
#include "pg/statement_cache.hpp"

namespace enrich::pg {

class Connection;

/// What a connection tells the pool that owns it.
class ConnectionOwner {
 public:
  virtual ~ConnectionOwner() = default;
  virtual void on_ready(Connection& conn) = 0;
  /// A statement finished and left the pipeline (room for more work).
  virtual void on_room(Connection& conn) = 0;
  /// The statement must be sent again (stale prepared statement, or hit by a neighbour's
  /// cancel); the pool queues it like a new one.
  virtual void resubmit(QueryOpPtr op) = 0;
  /// The connection to a read replica was lost (or the replica refused a statement, 25006) while
  /// `op` ran there: true if the owner runs it again elsewhere (on the primary).
  virtual bool reroute(QueryOpPtr& /*op*/) { return false; }
  /// The connection is closed; `error` says why (nullptr: closed on purpose while idle).
  /// Called once; the owner may destroy the connection only after this call returns.
  virtual void on_closed(Connection& conn, const Error* error, bool was_ready) = 0;
};

/// Whether a client's connections use named prepared statements; shared by all of them (every
/// I/O thread), because what one connection learns about the server side holds for all.
struct StatementMode {
  /// Named statements are off for good: the options or the DSN said so, a pooler was detected,
  /// or a server connection did not have a statement that this connection prepared (26000) or
  /// already had one of that name (42P05): what PgBouncer in transaction mode does.
  std::atomic<bool> unnamed{false};
  /// The DSN said statement_cache=on: keep named statements when a pooler is detected (a pooler
  /// that tracks them, PgBouncer >= 1.21 with max_prepared_statements); 26000/42P05 still switch.
  bool forced_on = false;
  /// Something between us and Postgres hands out server connections (its cancel key's process id
  /// is not the backend's): enrich then never sends DEALLOCATE, which would reach another
  /// client's server connection.
  std::atomic<bool> behind_pooler{false};
};

struct ConnectionSettings {
  std::shared_ptr<StatementMode> statements = std::make_shared<StatementMode>();
  std::size_t statement_cache_size = 256;
  Milliseconds connect_timeout{5000};
  Metrics* metrics = nullptr;  // the client's; null in tests that build connections alone
};

class Connection {
 public:
  /// probing: connected, asking the server for its process id (is a pooler in between?).
  enum class State { connecting, probing, ready, closed };

  Connection(std::uint64_t id, EventLoop& loop, ConnectionOwner& owner, Canceller& canceller,
             const ConnectionSettings& settings, Logger logger);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void start(const ConnParams& params);
  /// Sends `op` (its own Sync). Pre: ready.
  void send(QueryOpPtr op);
  /// Sends `ops` with one Sync after the last: one implicit transaction (one snapshot only under
  /// REPEATABLE READ or SERIALIZABLE; READ COMMITTED takes one per statement) and one send.
  /// Only for statements that do not write (QueryOp::read_only) and belong to no transaction.
  /// If one fails, the following ones are reported aborted by the server; they are re-sent one
  /// by one (each with its own Sync), so every caller gets its own result or its own error.
  void send_group(std::vector<QueryOpPtr> ops);
  /// The caller's promise for `op` was completed early (timeout/cancel): stop the statement on
  /// the server if it is running, else as soon as it starts.
  void abandon(QueryOp& op);
  /// Closes the connection; in-flight statements fail with `error` (or `cancelled` when null).
  /// Statements still running are cancelled on the server first when `cancel_running`.
  void close(const Error* error, bool cancel_running);

  std::uint64_t id() const { return id_; }
  State state() const { return state_; }
  bool ready() const { return state_ == State::ready; }
  std::size_t in_flight() const { return in_flight_.size(); }
  std::size_t user_in_flight() const { return user_in_flight_; }
  const std::deque<QueryOpPtr>& in_flight_ops() const { return in_flight_; }

  // Pool bookkeeping (owned by the pool, stored here for convenience).
  bool reserved = false;  // dedicated to a transaction
  bool draining = false;  // takes no new shared work: a transaction waits for it
  bool retiring = false;  // past max lifetime: close once idle
  Clock::time_point created_at;
  Clock::time_point last_active;
  Clock::time_point expires_at = Clock::time_point::max();

 private:
  void on_io(std::uint32_t events);
  void continue_connect();
  void on_connected();
  void on_probe_result(QueryOp& probe);
  /// Connected (and probed): takes work from now on.
  void become_ready();
  /// Named statements off for the whole client, for good (logged once, with `reason`).
  void stop_named_statements(std::string_view reason);
  bool named_statements() const;
  void update_watch();
  void flush();
  void read_results();
  void finish_head();
  /// Cancels the statement's deadline timer (the pool arms it when the statement is admitted).
  void cancel_timer(QueryOp& op);
  bool enqueue(QueryOpPtr op, bool sync, std::vector<std::string>& evicted);
  bool send_statement(QueryOp& op, bool sync, std::vector<std::string>& evicted);
  void deallocate(const std::vector<std::string>& names);
  /// Sends a statement of the connection's own (DEALLOCATE, or the pooler probe); false if libpq
  /// could not queue it.
  bool send_internal(std::string sql, bool probe = false);
  bool in_head_segment(const QueryOp& op) const;
  QueryOp* cancel_target_in_head_segment() const;
  void cancel_abandoned_in_head_segment();
  void send_cancel(const QueryOp& target);
  void schedule_cancel_recheck();
  void fail(Error error);
  Error connection_error(std::string_view what) const;

  std::uint64_t id_;
  EventLoop& loop_;
  ConnectionOwner& owner_;
  Canceller& canceller_;
  ConnectionSettings settings_;
  Logger logger_;
  StatementCache cache_;

  PGconn* conn_ = nullptr;
  int fd_ = -1;
  std::uint32_t watched_events_ = 0;
  State state_ = State::connecting;
  PostgresPollingStatusType poll_ = PGRES_POLLING_WRITING;
  bool want_write_ = false;
  EventLoop::TimerId connect_timer_ = 0;
  std::deque<QueryOpPtr> in_flight_;
  std::size_t user_in_flight_ = 0;
  Clock::time_point last_cancel_sent_{};
  // The statement a cancel was sent for, re-sent while it may still run (see .cpp).
  const QueryOp* cancel_target_ = nullptr;
  EventLoop::TimerId cancel_recheck_timer_ = 0;
  Milliseconds cancel_recheck_delay_{0};
  std::string redacted_dsn_;
  std::shared_ptr<const std::string> server_;  // host:port once connected (step timings)
  void count_retry() {
    if (settings_.metrics)
      settings_.metrics->statement_retries.fetch_add(1, std::memory_order_relaxed);
  }
};

/// An Error from a failed PGresult: SQLSTATE, primary message, detail and hint.
Error error_from_result(const PGresult* result);

}  // namespace enrich::pg

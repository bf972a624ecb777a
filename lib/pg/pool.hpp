#pragma once
// The connections of one I/O thread: which connection a statement goes to, the bounded wait
// queue, acquire timeouts, transactions on dedicated connections, reconnect with backoff, idle
// and lifetime limits, health checks. Every method runs on the pool's I/O thread unless noted.

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "core/event_loop.hpp"
#include "core/logger.hpp"
#include "enrich/client.hpp"
#include "pg/canceller.hpp"
#include "pg/conn_params.hpp"
#include "pg/connection.hpp"
#include "pg/query_op.hpp"

namespace enrich::pg {

struct PoolSettings {
  PoolOptions pool;
  ConnectionSettings connection;
  ConnParams params;
};

/// A request for a transaction: waits for a connection with nothing in flight.
struct TxRequest {
  Deadline deadline;
  Clock::time_point acquire_deadline;
  EventLoop::TimerId timer = 0;
  bool completed = false;
  /// Called once on the I/O thread: the reserved connection's id, or an error.
  std::function<void(Result<std::uint64_t>)> done;
};
using TxRequestPtr = std::shared_ptr<TxRequest>;

class Pool final : public ConnectionOwner {
 public:
  Pool(EventLoop& loop, Canceller& canceller, PoolSettings settings, Logger logger);
  ~Pool() override;

  /// Makes this the pool of a read replica: what it cannot run (use_primary, 25006, a lost
  /// connection, no connection to be had) goes to `primary`. Before start().
  void set_primary(Pool* primary) { primary_ = primary; }
  bool is_replica() const { return primary_ != nullptr; }
  /// A connection is ready: statements sent here now will be served.
  bool serving() const;
  /// Statements in flight or waiting here.
  std::size_t load() const;

  void start();
  void submit(QueryOpPtr op);
  /// Submits statements that should share one round trip: on one connection when one has room
  /// for all of them, else each as `submit` would. When they all only read (QueryOp::read_only,
  /// from pg::is_read_only_sql), they share one Sync: one implicit transaction.
  void submit_group(std::vector<QueryOpPtr> ops);
  /// Completes `op` with `code` now and stops it on the server if it runs.
  void abort(const QueryOpPtr& op, ErrorCode code, std::string message);
  void begin_transaction(TxRequestPtr request);
  /// The caller cancelled a transaction request that is still waiting.
  void abort_transaction(const TxRequestPtr& request);
  /// The transaction on `connection_id` is over; the connection is shared again.
  void release(std::uint64_t connection_id);
  /// Cancels everything and closes every connection.
  void shutdown();

  /// Thread-safe snapshot.
  void add_stats(PoolStats& out) const;
  /// The same for a replica's pool, into the replica_* fields.
  void add_replica_stats(PoolStats& out) const;

  // ConnectionOwner
  void on_ready(Connection& conn) override;
  void on_room(Connection& conn) override;
  void resubmit(QueryOpPtr op) override;
  bool reroute(QueryOpPtr& op) override;
  void on_closed(Connection& conn, const Error* error, bool was_ready) override;

 private:
  /// Why `op` may not be sent now (the pool is closing, its deadline passed), if so.
  std::optional<Error> rejection(const QueryOp& op) const;
  /// Completes `op` if the pool is closing or its deadline passed; true if it may proceed.
  bool admit(const QueryOpPtr& op);
  /// Takes over an admitted statement from a replica's pool (it keeps its place at the front).
  void adopt(QueryOpPtr op);
  /// A replica's pool with no connection to offer: hands its waiting reads to the primary.
  void hand_waiting_to_primary();
  void dispatch();
  void grow_if_needed();
  void open_connection();
  void housekeeping();
  void arm_timer(const QueryOpPtr& op, Clock::time_point when);
  void on_op_timer(const QueryOpPtr& op);
  void on_tx_timer(const TxRequestPtr& request);
  void fail_waiting(const Error& error);
  void start_transaction(Connection& conn, TxRequestPtr request);
  void complete_tx(const TxRequestPtr& request, Result<std::uint64_t> result);
  Connection* find_connection(std::uint64_t id);
  Connection* least_loaded();
  Connection* idle_connection();
  std::size_t live_connections() const;
  void update_stats();

  EventLoop& loop_;
  Canceller& canceller_;
  PoolSettings settings_;
  Logger logger_;

  std::vector<std::unique_ptr<Connection>> connections_;
  // Closed connections, destroyed on a later turn of the loop (never inside their own callback).
  std::vector<std::unique_ptr<Connection>> graveyard_;
  std::deque<QueryOpPtr> waiting_;  // completed entries are skipped lazily
  std::size_t waiting_live_ = 0;
  std::deque<TxRequestPtr> tx_waiting_;
  std::size_t tx_waiting_live_ = 0;
  std::uint64_t next_connection_id_ = 1;
  bool closing_ = false;
  Pool* primary_ = nullptr;  // set for a replica's pool

  // Reconnect backoff.
  Clock::time_point next_connect_at_{};
  Milliseconds backoff_{0};
  EventLoop::TimerId backoff_timer_ = 0;
  EventLoop::TimerId housekeeping_timer_ = 0;

  struct Counters {
    std::atomic<std::size_t> connections{0}, idle{0}, in_transaction{0}, in_flight{0}, waiting{0};
    std::atomic<std::uint64_t> connects{0}, connect_failures{0};
    std::atomic<std::uint64_t> sent{0};      // statements admitted (replica reads)
    std::atomic<std::uint64_t> rerouted{0};  // handed to the primary
  };
  Counters counters_;
};

}  // namespace enrich::pg

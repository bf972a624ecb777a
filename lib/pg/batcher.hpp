#pragma once
// Batching: statements of one shape (same SQL and key type, same parameters but the key `$1`,
// same routing) submitted in the same turn of the I/O thread go to Postgres as one statement
// over the array of their keys (pg/batch_sql.hpp), and each caller gets the rows of its own key.
// Opt-in per call (QueryOptions::batch) or plan step ("batch"); loop thread only.
//
// Nothing ever waits for more callers: the batcher gathers what the turn's callbacks submitted
// and sends it at the end of that turn (EventLoop::at_turn_end). A group of one is sent as it
// was. Each caller keeps its own deadline and cancel; the batched statement is cancelled only
// once all its callers gave up. If the batched statement fails (a key that does not convert, an
// error raised by one key's rows, a statement that cannot be a subquery), every caller's
// statement is sent again on its own, so each gets exactly the answer it would have had alone.

#include <cstddef>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/event_loop.hpp"
#include "core/metrics.hpp"
#include "pg/query_op.hpp"

namespace enrich::pg {

class PoolSet;

/// What makes statements batchable together: the key type, the SQL, the parameters after the
/// key (NULL apart from '') and the routing.
std::string batch_group_key(const std::string& sql, const std::string& key_type,
                            const Params& params, bool use_primary);

/// One batched statement and its callers.
struct BatchFlight {
  QueryOpPtr exec;                  // the statement over the array of keys
  std::vector<QueryOpPtr> callers;  // completed ones are skipped
  std::vector<std::size_t> slots;   // each caller's key: its index in the array
  std::size_t keys = 0;             // distinct keys in the array
  std::size_t live = 0;             // callers still waiting
  class Batcher* owner = nullptr;   // null once the owner is gone or the flight is over
};

class Batcher {
 public:
  Batcher(EventLoop& loop, PoolSet& pools, Metrics* metrics);
  ~Batcher();
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  /// May this statement be batched? Never inside a transaction, never the pool's own, and only
  /// with a key.
  static bool eligible(const QueryOp& op) {
    return !op.batch_type.empty() && op.tx_connection == 0 && !op.internal && !op.params.empty();
  }
  /// Queues `op` for this turn's batches.
  void submit(QueryOpPtr op);
  /// One caller gives up; its batch goes on for the others and is cancelled when none is left.
  void abort(const QueryOpPtr& op, ErrorCode code, std::string message);
  /// Completes every caller still waiting with "client closed" (before the pools' shutdown).
  void shutdown();

 private:
  using FlightPtr = std::shared_ptr<BatchFlight>;
  void flush();
  void send_batch(std::vector<QueryOpPtr> ops);
  void deliver(const FlightPtr& flight, Result<QueryResult> result);
  /// Takes `op` out of the batcher (its timer, its flight) without completing it.
  void release(QueryOp& op);
  /// Sends `op` on its own, as if it had never asked for batching.
  void send_alone(QueryOpPtr op);
  const std::string* batched_sql(const QueryOp& op);

  EventLoop& loop_;
  PoolSet& pools_;
  Metrics* metrics_;
  bool closed_ = false;
  bool flush_queued_ = false;
  std::unordered_map<std::string, std::vector<QueryOpPtr>> pending_;  // by batch_group_key
  std::unordered_set<FlightPtr> flights_;
  /// Batched text by key type and SQL; a failed rewrite is cached as "" (sent alone).
  std::unordered_map<std::string, std::string> statements_;
};

}  // namespace enrich::pg

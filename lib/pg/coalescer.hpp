#pragma once
// Single-flight: identical statements in flight at the same moment share one execution
// (QueryOptions::coalesce, a plan step's "coalesce"). Loop thread only.
//
// Where the table lives: one per I/O thread, inside that thread's PoolSet. Everything that
// touches it (joining, a caller giving up, the result arriving) already runs on that thread, so
// it needs no lock; and Client::query sends a coalescing statement to the I/O thread its key
// hashes to, so identical direct queries meet in one table whatever io_threads is. Plan steps
// run on their plan's thread and meet the identical statements of that thread only.
//
// Each caller keeps its own operation, deadline and cancel hook; the shared execution is a
// separate operation with no deadline of its own, so that one caller giving up never ends it
// for the others. It is cancelled once its last caller has given up.

#include <cstddef>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/event_loop.hpp"
#include "core/metrics.hpp"
#include "pg/query_op.hpp"

namespace enrich::pg {

class PoolSet;

/// What makes two statements identical: the SQL, every parameter (NULL apart from ''), and the
/// routing (a use_primary caller must never get a replica's answer). Shape and profile are not
/// in it: they are applied to the shared result by each caller.
std::string coalesce_key(const std::string& sql, const Params& params, bool use_primary);

/// One statement and the callers waiting on it.
struct CoalescedFlight {
  std::string key;
  QueryOpPtr exec;                   // the shared execution, sent to the pools
  std::vector<QueryOpPtr> callers;   // in join order; completed ones are skipped
  std::size_t live = 0;              // callers still waiting
  class Coalescer* owner = nullptr;  // null once the owner is gone or the flight is over
};

class Coalescer {
 public:
  /// Results larger than `max_result_bytes` (PQresultMemorySize) are not shared: the first
  /// caller gets it and the others send the statement on their own.
  Coalescer(EventLoop& loop, PoolSet& pools, std::size_t max_result_bytes, Metrics* metrics);
  ~Coalescer();
  Coalescer(const Coalescer&) = delete;
  Coalescer& operator=(const Coalescer&) = delete;

  /// May this statement share an execution? Never inside a transaction, never the pool's own.
  static bool eligible(const QueryOp& op) {
    return op.coalesce && op.tx_connection == 0 && !op.internal;
  }
  /// Joins the identical statement in flight, or starts one.
  void submit(QueryOpPtr op);
  /// As submit(), but returns the new shared execution for the caller to send (with others, as
  /// one group: a plan wave or a turn's batches keep their shared Sync), or nullptr if `op`
  /// joined one in flight or was completed at once.
  QueryOpPtr start_or_join(QueryOpPtr op);
  /// One caller gives up (cancel, timeout, its plan failed); the execution goes on for the
  /// others, and is cancelled when none is left.
  void abort(const QueryOpPtr& op, ErrorCode code, std::string message);
  /// Completes whatever is left (after the pools' shutdown, which ends every execution).
  void shutdown();

 private:
  using FlightPtr = std::shared_ptr<CoalescedFlight>;
  void deliver(const FlightPtr& flight, Result<QueryResult> result);

  EventLoop& loop_;
  PoolSet& pools_;
  std::size_t max_result_bytes_;
  Metrics* metrics_;
  std::unordered_map<std::string, FlightPtr> flights_;
};

}  // namespace enrich::pg

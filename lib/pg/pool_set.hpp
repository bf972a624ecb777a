#pragma once
// The pools of one I/O thread: the primary's, and one per read replica. Routes each statement:
// one that only reads (and a read-only plan wave) goes to the least loaded replica with a
// connection ready; everything else, and every read while no replica is serving, goes to the
// primary. Transactions always use the primary. Loop thread only, except add_stats.

#include <memory>
#include <vector>

#include "pg/batcher.hpp"
#include "pg/coalescer.hpp"
#include "pg/pool.hpp"

namespace enrich::pg {

class PoolSet {
 public:
  /// `coalesce_max_result_bytes` and `metrics`: the coalescer's (ClientOptions).
  PoolSet(EventLoop& loop, std::unique_ptr<Pool> primary,
          std::vector<std::unique_ptr<Pool>> replicas, std::size_t coalesce_max_result_bytes,
          Metrics* metrics);

  Pool& primary() { return *primary_; }
  bool has_replicas() const { return !replicas_.empty(); }

  void start();
  /// A statement that may be batched (Batcher::eligible) goes to the batcher, which sends a batch
  /// or a lone statement at the end of the turn; one that may coalesce (Coalescer::eligible) goes
  /// to the coalescer, which sends one of each identical set through route(); the others are
  /// routed at once.
  void submit(QueryOpPtr op);
  /// A plan wave: to one replica when every statement may go there, else to the primary. Its
  /// batching and coalescing statements leave it, one by one, as with submit().
  void submit_group(std::vector<QueryOpPtr> ops);
  /// Sends `op` to the primary or a replica, without coalescing.
  void route(QueryOpPtr op);
  /// Aborts `op` in the batcher, the coalescer or whichever pool holds it.
  void abort(const QueryOpPtr& op, ErrorCode code, std::string message);
  void shutdown();

  /// Thread-safe snapshot.
  void add_stats(PoolStats& out) const;

 private:
  /// The replica for a statement that may go to one, or nullptr (none is serving).
  Pool* pick_replica();
  static bool replica_may_run(const QueryOp& op) {
    return op.read_only && !op.use_primary && op.tx_connection == 0;
  }

  std::unique_ptr<Pool> primary_;
  std::vector<std::unique_ptr<Pool>> replicas_;
  Coalescer coalescer_;
  Batcher batcher_;
  std::size_t next_ = 0;                     // rotates the first replica looked at, to spread ties
  std::atomic<std::uint64_t> fallbacks_{0};  // reads sent to the primary: no replica serving
};

}  // namespace enrich::pg

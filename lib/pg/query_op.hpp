#pragma once
// One statement on its way through the pool: queued, sent on a connection, then finished.
// Owned by shared_ptr: the pool's queues, a connection's in-flight list, timers and cancel hooks
// all refer to it. Touched only on its shard's I/O thread.

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/event_loop.hpp"
#include "enrich/deadline.hpp"
#include "enrich/future.hpp"
#include "enrich/pg/params.hpp"
#include "enrich/pg/result.hpp"

namespace enrich::pg {

class Pool;
struct CoalescedFlight;
struct BatchFlight;

struct QueryOp {
  enum class State { queued, sent, finished };

  std::string sql;
  Params params;
  Promise<QueryResult> promise;
  Deadline deadline;
  Clock::time_point acquire_deadline = Clock::time_point::max();
  EventLoop::TimerId timer = 0;

  /// Non-zero: this statement belongs to a transaction and must run on that connection.
  std::uint64_t tx_connection = 0;
  /// With tx_connection: give the connection back to the pool once this is sent
  /// (COMMIT / ROLLBACK).
  bool release_after = false;
  /// Sent by the pool itself (ping, DEALLOCATE): no caller waits for it.
  bool internal = false;
  /// The connection's first statement, `SELECT pg_backend_pid()`: is a pooler in between?
  bool probe = false;
  /// The producer checked that `sql` only reads (pg::is_read_only_sql; a plan does it once per
  /// step at load): Pool::submit_group may then send it with others under one Sync.
  bool read_only = false;
  /// Must run on the primary: the caller asked for it, or a replica could not run it.
  bool use_primary = false;
  /// The pool that admitted it last (the primary's or a replica's), for aborts.
  Pool* pool = nullptr;
  /// Per-step timings are wanted: the connection notes where it sent the statement.
  bool timed = false;
  /// When the pool took it (reset once its wait is measured), and when it was last sent.
  Clock::time_point admitted_at{};
  Clock::time_point sent_at{};
  std::shared_ptr<const std::string> server;  // host:port, when timed
  /// Sent in a group that shared one Sync (Pool::submit_group).
  bool shared_sync = false;
  /// May share the execution of an identical statement in flight (QueryOptions::coalesce, a
  /// step's "coalesce"; pg/coalescer.hpp).
  bool coalesce = false;
  /// coalesce_key() of sql, params and use_primary; empty: the coalescer computes it.
  std::string coalesce_key;
  /// Waiting in the coalescer for a shared execution (aborts go there, not to a pool).
  bool coalescing = false;
  /// Its result came from an execution shared with other callers.
  bool coalesced = false;
  std::weak_ptr<CoalescedFlight> flight;
  /// Non-empty: may go to Postgres in one statement with the same statement of other callers,
  /// `$1` being the key, of this SQL type (QueryOptions::batch, a step's "batch";
  /// pg/batcher.hpp).
  std::string batch_type;
  /// batch_group_key() of the statement; empty: the batcher computes it.
  std::string batch_key;
  /// Waiting in the batcher: for the end of the turn, or for its batch's result.
  bool batching = false;
  /// Its result came from a batch of this many callers (0: it ran alone).
  std::size_t batched = 0;
  std::weak_ptr<BatchFlight> batch_flight;

  State state = State::queued;
  /// In the pool's wait queue (and counted in its live waiters). `queued` alone does not say so:
  /// a statement being admitted, or re-sent, is queued without being in that queue.
  bool in_wait_queue = false;
  /// The caller's promise is already completed (timeout or cancel); results are discarded.
  bool completed = false;
  /// A cancel request was sent to the server for this statement.
  bool cancel_target = false;
  /// Completed early while queued behind others on its connection: cancel it once it runs.
  bool cancel_when_head = false;
  /// The next non-error result belongs to the Parse (prepare) step, not the statement.
  bool awaiting_prepare = false;
  /// This attempt sent the Parse of its named statement (the cache had no entry for it).
  bool prepared_here = false;
  /// That Parse succeeded: the server holds the statement, whatever became of the Execute.
  bool prepare_done = false;
  /// Send without a named prepared statement (a retry after SQLSTATE 26000).
  bool unnamed = false;
  /// A Sync follows this statement. False for all but the last statement of a read-only group,
  /// whose statements share one Sync (one implicit transaction, see Connection::send_group).
  bool sync_after = true;
  /// libpq commands of this statement (Parse, Execute) whose results have not ended yet: each
  /// ends with a null PGresult, which is how the statements of a group are told apart.
  int commands_left = 0;
  /// Its group's pipeline was aborted by an earlier statement's error: it did not run.
  bool aborted = false;
  std::string statement_name;
  int retries = 0;

  std::optional<Error> error;
  PGresult* result = nullptr;  // owned until handed to QueryResult

  ~QueryOp() {
    if (result) PQclear(result);
  }

  /// Clears what a previous attempt left, before the statement is sent again. `counted`: the
  /// attempt counts against the retry limit (a statement that never ran does not).
  void reset_for_retry(bool counted = true) {
    if (counted) ++retries;
    state = State::queued;
    cancel_target = cancel_when_head = awaiting_prepare = prepared_here = prepare_done = aborted =
        false;
    shared_sync = false;
    sync_after = true;
    commands_left = 0;
    statement_name.clear();
    error.reset();
    if (result) PQclear(result);
    result = nullptr;
  }
};

using QueryOpPtr = std::shared_ptr<QueryOp>;

}  // namespace enrich::pg

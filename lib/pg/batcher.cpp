#include "pg/batcher.hpp"

#include <libpq-fe.h>

#include "pg/batch_sql.hpp"
#include "pg/pool_set.hpp"
#include "pg/statement_key.hpp"
#include "pg/waiting_caller.hpp"

namespace enrich::pg {

namespace {
// A statement cache that outgrows this is a program generating SQL: start over.
constexpr std::size_t kMaxCachedStatements = 1024;
}  // namespace

std::string batch_group_key(const std::string& sql, const std::string& key_type,
                            const Params& params, bool use_primary) {
  std::string key;
  key += use_primary ? 'P' : 'A';
  append_key_part(key, key_type);
  append_key_part(key, sql);
  append_params_key(key, params, 1);  // all but the key, $1
  return key;
}

Batcher::Batcher(EventLoop& loop, PoolSet& pools, Metrics* metrics)
    : loop_(loop), pools_(pools), metrics_(metrics) {}

Batcher::~Batcher() {
  for (const auto& flight : flights_) flight->owner = nullptr;
}

void Batcher::submit(QueryOpPtr op) {
  if (op->completed || fail_if_expired(*op, metrics_)) return;
  if (closed_) {
    op->completed = true;
    op->promise.set_error(Error{ErrorCode::cancelled, "client closed"});
    return;
  }
  if (op->batch_key.empty())
    op->batch_key = batch_group_key(op->sql, op->batch_type, op->params, op->use_primary);
  op->batching = true;
  arm_deadline(loop_, op,
               [this](const QueryOpPtr& o) { abort(o, ErrorCode::timeout, "query timed out"); });
  pending_[op->batch_key].push_back(std::move(op));
  if (!flush_queued_) {
    flush_queued_ = true;
    loop_.at_turn_end([this] { flush(); });
  }
}

void Batcher::flush() {
  flush_queued_ = false;
  auto pending = std::move(pending_);
  pending_.clear();
  // Each batched statement is sent on its own, not with the turn's others under one Sync: one
  // group would run them one after the other on one connection, where separate statements
  // spread over the pool's connections and run in parallel on the server (measured with
  // bench/hot_keys.py: one group was a quarter slower).
  for (auto& [key, ops] : pending) {
    std::vector<QueryOpPtr> live;
    live.reserve(ops.size());
    for (auto& op : ops)
      if (!op->completed) live.push_back(std::move(op));
    if (live.size() == 1) {
      send_alone(std::move(live.front()));
    } else if (live.size() > 1) {
      send_batch(std::move(live));
    }
  }
}

const std::string* Batcher::batched_sql(const QueryOp& op) {
  std::string cache_key = op.batch_type;
  cache_key += '\0';
  cache_key += op.sql;
  auto it = statements_.find(cache_key);
  if (it == statements_.end()) {
    if (statements_.size() >= kMaxCachedStatements) statements_.clear();
    auto text = batch_statement(op.sql, op.batch_type);
    it = statements_.emplace(std::move(cache_key), text.ok() ? std::move(text).value() : "").first;
  }
  return it->second.empty() ? nullptr : &it->second;
}

void Batcher::send_batch(std::vector<QueryOpPtr> ops) {
  const std::string* sql = batched_sql(*ops.front());
  if (!sql) {
    // Not rewritable (no $1 outside literals): each runs as written, and fails as written.
    for (auto& op : ops) send_alone(std::move(op));
    return;
  }
  auto flight = std::make_shared<BatchFlight>();
  flight->owner = this;
  // Distinct keys only: callers with the same key share its rows.
  std::vector<const Param*> keys;
  std::unordered_map<std::string_view, std::size_t> slot_of;
  std::size_t null_slot = SIZE_MAX;
  flight->slots.reserve(ops.size());
  for (const auto& op : ops) {
    const Param& key = op->params.front();
    std::size_t slot;
    if (key.is_null()) {
      if (null_slot == SIZE_MAX) {
        null_slot = keys.size();
        keys.push_back(&key);
      }
      slot = null_slot;
    } else {
      auto [it, added] = slot_of.emplace(key.text(), keys.size());
      if (added) keys.push_back(&key);
      slot = it->second;
    }
    flight->slots.push_back(slot);
  }
  auto exec = std::make_shared<QueryOp>();
  const QueryOp& first = *ops.front();
  exec->sql = *sql;
  exec->params.reserve(first.params.size());
  exec->params.emplace_back(array_literal(keys));
  for (std::size_t i = 1; i < first.params.size(); ++i) exec->params.push_back(first.params[i]);
  exec->read_only = true;  // checked when the call or the plan step asked for batching
  exec->use_primary = first.use_primary;
  for (const auto& op : ops) exec->timed = exec->timed || op->timed;
  flight->keys = keys.size();
  flight->live = ops.size();
  flight->exec = exec;
  for (auto& op : ops) op->batch_flight = flight;
  flight->callers = std::move(ops);
  exec->promise.get_future().subscribe(
      [weak = std::weak_ptr<BatchFlight>(flight)](Result<QueryResult> r) {
        auto f = weak.lock();
        if (f && f->owner) f->owner->deliver(f, std::move(r));
      });
  flights_.insert(flight);
  if (metrics_) {
    metrics_->batches.fetch_add(1, std::memory_order_relaxed);
    metrics_->statements_batched.fetch_add(flight->live, std::memory_order_relaxed);
  }
  // In the set before it is sent: a refusal completes it at once, through deliver().
  pools_.route(std::move(exec));
}

void Batcher::release(QueryOp& op) {
  op.batching = false;
  op.batch_flight.reset();
  disarm_deadline(loop_, op);
}

void Batcher::send_alone(QueryOpPtr op) {
  release(*op);
  op->batch_type.clear();
  op->batch_key.clear();
  pools_.submit(std::move(op));  // may still coalesce
}

void Batcher::abort(const QueryOpPtr& op, ErrorCode code, std::string message) {
  if (op->completed) return;
  op->completed = true;  // a pending one is skipped by flush()
  auto flight = op->batch_flight.lock();
  release(*op);
  if (flight && flight->owner && --flight->live == 0) {
    // Nobody waits for it any more: stop it on the server.
    flights_.erase(flight);
    flight->owner = nullptr;
    flight->callers.clear();
    pools_.abort(flight->exec, ErrorCode::cancelled, "every caller of a batched query gave up");
  }
  if (code == ErrorCode::timeout && metrics_)
    metrics_->statement_timeouts.fetch_add(1, std::memory_order_relaxed);
  op->promise.set_error(Error{code, std::move(message)});
}

void Batcher::deliver(const FlightPtr& flight, Result<QueryResult> result) {
  flights_.erase(flight);
  flight->owner = nullptr;
  auto callers = std::move(flight->callers);
  flight->callers.clear();
  std::vector<PGresult*> parts;
  if (result.ok() && result.value().raw())
    parts = split_batch_result(result.value().raw(), flight->keys);
  // Every caller is taken out of the batcher before any is completed: a continuation may abort
  // a sibling, which must then find itself done or re-sent, not half-delivered.
  std::vector<QueryOpPtr> answered, resent;
  std::vector<std::size_t> answered_slots;
  for (std::size_t i = 0; i < callers.size(); ++i) {
    auto& op = callers[i];
    if (op->completed) continue;
    release(*op);
    if (parts.empty()) {
      resent.push_back(std::move(op));
      continue;
    }
    op->completed = true;
    op->state = QueryOp::State::finished;
    op->batched = flight->live;
    const QueryOp& exec = *flight->exec;
    op->sent_at = exec.sent_at;
    op->server = exec.server;
    op->shared_sync = exec.shared_sync;
    op->pool = exec.pool;
    answered_slots.push_back(flight->slots[i]);
    answered.push_back(std::move(op));
  }
  if (!resent.empty()) {
    if (metrics_) metrics_->batch_fallbacks.fetch_add(resent.size(), std::memory_order_relaxed);
    for (auto& op : resent) send_alone(std::move(op));
  }
  // One result per key (owning its part), shared by the callers of that key.
  std::vector<Result<QueryResult>> per_key;
  per_key.reserve(parts.size());
  for (PGresult* part : parts) {
    auto rows = static_cast<std::size_t>(PQntuples(part));
    per_key.emplace_back(QueryResult(part, "SELECT " + std::to_string(rows)));
  }
  for (std::size_t i = 0; i < answered.size(); ++i)
    answered[i]->promise.set(per_key[answered_slots[i]]);
}

void Batcher::shutdown() {
  closed_ = true;
  std::vector<QueryOpPtr> waiting;
  for (auto& [key, ops] : pending_)
    for (auto& op : ops) waiting.push_back(std::move(op));
  pending_.clear();
  for (const auto& flight : flights_) {
    flight->owner = nullptr;
    for (auto& op : flight->callers) waiting.push_back(std::move(op));
    flight->callers.clear();
  }
  flights_.clear();
  for (auto& op : waiting) {
    if (op->completed) continue;
    op->completed = true;
    release(*op);
    op->promise.set_error(Error{ErrorCode::cancelled, "client closed"});
  }
}

}  // namespace enrich::pg

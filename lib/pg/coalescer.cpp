#include "pg/coalescer.hpp"

#include <libpq-fe.h>

#include "pg/pool_set.hpp"
#include "pg/statement_key.hpp"
#include "pg/waiting_caller.hpp"

namespace enrich::pg {

std::string coalesce_key(const std::string& sql, const Params& params, bool use_primary) {
  std::string key;
  key.reserve(1 + sizeof(std::size_t) + sql.size());
  key += use_primary ? 'P' : 'A';
  append_key_part(key, sql);
  append_params_key(key, params);
  return key;
}

Coalescer::Coalescer(EventLoop& loop, PoolSet& pools, std::size_t max_result_bytes,
                     Metrics* metrics)
    : loop_(loop), pools_(pools), max_result_bytes_(max_result_bytes), metrics_(metrics) {}

Coalescer::~Coalescer() {
  // After shutdown() nothing is left; an execution that completes later finds no owner.
  for (auto& [key, flight] : flights_) flight->owner = nullptr;
}

void Coalescer::submit(QueryOpPtr op) {
  if (auto exec = start_or_join(std::move(op))) pools_.route(std::move(exec));
}

QueryOpPtr Coalescer::start_or_join(QueryOpPtr op) {
  if (op->completed || fail_if_expired(*op, metrics_)) return nullptr;
  if (op->coalesce_key.empty())
    op->coalesce_key = coalesce_key(op->sql, op->params, op->use_primary);
  op->coalescing = true;
  arm_deadline(loop_, op,
               [this](const QueryOpPtr& o) { abort(o, ErrorCode::timeout, "query timed out"); });
  if (auto it = flights_.find(op->coalesce_key); it != flights_.end()) {
    const FlightPtr& flight = it->second;
    op->flight = flight;
    flight->exec->timed = flight->exec->timed || op->timed;
    flight->callers.push_back(std::move(op));
    ++flight->live;
    if (metrics_) metrics_->statements_coalesced.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  auto flight = std::make_shared<CoalescedFlight>();
  flight->owner = this;
  flight->key = op->coalesce_key;
  auto exec = std::make_shared<QueryOp>();
  // The first caller's text and values move here: it is the one that gets the result whatever
  // its size, so it never needs them again.
  exec->sql = std::move(op->sql);
  exec->params = std::move(op->params);
  exec->read_only = op->read_only;
  exec->use_primary = op->use_primary;
  exec->timed = op->timed;
  // No deadline: each caller's own applies to it alone (arm_deadline).
  exec->promise.get_future().subscribe(
      [weak = std::weak_ptr<CoalescedFlight>(flight)](Result<QueryResult> r) {
        auto f = weak.lock();
        if (f && f->owner) f->owner->deliver(f, std::move(r));
      });
  flight->exec = exec;
  op->flight = flight;
  flight->callers.push_back(std::move(op));
  flight->live = 1;
  flights_.emplace(flight->key, flight);
  // In the table before it is sent: a refusal completes it at once, through deliver().
  return exec;
}

void Coalescer::abort(const QueryOpPtr& op, ErrorCode code, std::string message) {
  if (op->completed) return;
  op->completed = true;
  op->coalescing = false;
  disarm_deadline(loop_, *op);
  if (auto flight = op->flight.lock(); flight && flight->owner && --flight->live == 0) {
    // Nobody waits for it any more: out of the table (a new caller starts afresh) and stopped
    // on the server.
    if (auto it = flights_.find(flight->key); it != flights_.end() && it->second == flight)
      flights_.erase(it);
    flight->owner = nullptr;
    flight->callers.clear();
    pools_.abort(flight->exec, ErrorCode::cancelled, "every caller of a coalesced query gave up");
  }
  op->flight.reset();
  if (code == ErrorCode::timeout && metrics_)
    metrics_->statement_timeouts.fetch_add(1, std::memory_order_relaxed);
  op->promise.set_error(Error{code, std::move(message)});
}

void Coalescer::deliver(const FlightPtr& flight, Result<QueryResult> result) {
  if (auto it = flights_.find(flight->key); it != flights_.end() && it->second == flight)
    flights_.erase(it);
  flight->owner = nullptr;
  auto callers = std::move(flight->callers);
  flight->callers.clear();
  const QueryOp& exec = *flight->exec;
  bool shared = flight->live > 1;
  bool too_large = shared && result.ok() && result.value().raw() &&
                   PQresultMemorySize(result.value().raw()) > max_result_bytes_;
  bool first = true;
  // Every caller is taken out of the coalescer before any is completed: a continuation may
  // abort a sibling, which must then find itself done or routed, not half-delivered.
  std::vector<QueryOpPtr> answered, resent;
  for (auto& op : callers) {
    if (op->completed) continue;
    op->coalescing = false;
    op->flight.reset();
    disarm_deadline(loop_, *op);
    if (too_large && !first) {
      op->coalesce = false;
      resent.push_back(std::move(op));
      continue;
    }
    first = false;
    op->completed = true;
    op->state = QueryOp::State::finished;
    op->coalesced = shared && !too_large;
    // Where the shared execution ran, for the caller's timings and spans.
    op->sent_at = exec.sent_at;
    op->server = exec.server;
    op->shared_sync = exec.shared_sync;
    op->pool = exec.pool;
    answered.push_back(std::move(op));
  }
  if (metrics_ && !resent.empty())
    metrics_->coalesce_too_large.fetch_add(resent.size(), std::memory_order_relaxed);
  for (auto& op : resent) pools_.route(std::move(op));
  for (auto& op : answered) op->promise.set(result);
}

void Coalescer::shutdown() {
  auto flights = std::move(flights_);
  flights_.clear();
  for (auto& [key, flight] : flights) {
    flight->owner = nullptr;
    for (auto& op : flight->callers) {
      if (op->completed) continue;
      op->completed = true;
      op->coalescing = false;
      op->flight.reset();
      disarm_deadline(loop_, *op);
      op->promise.set_error(Error{ErrorCode::cancelled, "client closed"});
    }
    flight->callers.clear();
  }
}

}  // namespace enrich::pg

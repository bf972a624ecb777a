#include "pg/pool_set.hpp"

#include <algorithm>

namespace enrich::pg {

PoolSet::PoolSet(EventLoop& loop, std::unique_ptr<Pool> primary,
                 std::vector<std::unique_ptr<Pool>> replicas, std::size_t coalesce_max_result_bytes,
                 Metrics* metrics)
    : primary_(std::move(primary)),
      replicas_(std::move(replicas)),
      coalescer_(loop, *this, coalesce_max_result_bytes, metrics),
      batcher_(loop, *this, metrics) {
  for (auto& r : replicas_) r->set_primary(primary_.get());
}

void PoolSet::start() {
  primary_->start();
  for (auto& r : replicas_) r->start();
}

Pool* PoolSet::pick_replica() {
  Pool* best = nullptr;
  std::size_t best_load = 0;
  std::size_t n = replicas_.size();
  for (std::size_t i = 0; i < n; ++i) {
    Pool* r = replicas_[(next_ + i) % n].get();
    if (!r->serving()) continue;
    std::size_t load = r->load();
    if (!best || load < best_load) {
      best = r;
      best_load = load;
    }
  }
  ++next_;
  return best;
}

void PoolSet::submit(QueryOpPtr op) {
  if (Batcher::eligible(*op)) {
    batcher_.submit(std::move(op));
    return;
  }
  if (Coalescer::eligible(*op)) {
    coalescer_.submit(std::move(op));
    return;
  }
  route(std::move(op));
}

void PoolSet::route(QueryOpPtr op) {
  if (!replicas_.empty() && replica_may_run(*op)) {
    if (Pool* replica = pick_replica()) {
      replica->submit(std::move(op));
      return;
    }
    fallbacks_.fetch_add(1, std::memory_order_relaxed);
  }
  primary_->submit(std::move(op));
}

void PoolSet::submit_group(std::vector<QueryOpPtr> ops) {
  auto diverted = [](const QueryOpPtr& op) {
    return Batcher::eligible(*op) || Coalescer::eligible(*op);
  };
  if (std::any_of(ops.begin(), ops.end(), diverted)) {
    // Batching statements wait for the end of the turn; a coalescing one that starts a shared
    // execution sends that execution with the group, one that joins one sends nothing.
    std::vector<QueryOpPtr> rest;
    for (auto& op : ops) {
      if (Batcher::eligible(*op)) {
        batcher_.submit(std::move(op));
      } else if (Coalescer::eligible(*op)) {
        if (auto exec = coalescer_.start_or_join(std::move(op))) rest.push_back(std::move(exec));
      } else {
        rest.push_back(std::move(op));
      }
    }
    ops = std::move(rest);
    if (ops.empty()) return;
  }
  if (!replicas_.empty() &&
      std::all_of(ops.begin(), ops.end(), [](auto& op) { return replica_may_run(*op); })) {
    if (Pool* replica = pick_replica()) {
      replica->submit_group(std::move(ops));
      return;
    }
    fallbacks_.fetch_add(ops.size(), std::memory_order_relaxed);
  }
  primary_->submit_group(std::move(ops));
}

void PoolSet::abort(const QueryOpPtr& op, ErrorCode code, std::string message) {
  if (op->batching) {
    batcher_.abort(op, code, std::move(message));
    return;
  }
  if (op->coalescing) {
    coalescer_.abort(op, code, std::move(message));
    return;
  }
  (op->pool ? *op->pool : *primary_).abort(op, code, std::move(message));
}

void PoolSet::shutdown() {
  batcher_.shutdown();  // first: its batched statements' ends, below, then find no owner
  for (auto& r : replicas_) r->shutdown();
  primary_->shutdown();  // ends every shared execution, which completes its callers
  coalescer_.shutdown();
}

void PoolSet::add_stats(PoolStats& out) const {
  primary_->add_stats(out);
  for (auto& r : replicas_) r->add_replica_stats(out);
  out.replica_fallbacks += fallbacks_.load(std::memory_order_relaxed);
}

}  // namespace enrich::pg

#include "pg/waiting_caller.hpp"

namespace enrich::pg {

bool fail_if_expired(QueryOp& op, Metrics* metrics) {
  if (!op.deadline.expired()) return false;
  op.completed = true;
  if (metrics) metrics->statement_timeouts.fetch_add(1, std::memory_order_relaxed);
  op.promise.set_error(Error{ErrorCode::timeout, "deadline expired before the query was sent"});
  return true;
}

void arm_deadline(EventLoop& loop, const QueryOpPtr& op,
                  std::function<void(const QueryOpPtr&)> on_timeout) {
  if (!op->deadline.is_set()) return;
  op->timer = loop.add_timer(
      op->deadline.when(), [on_timeout = std::move(on_timeout), weak = std::weak_ptr<QueryOp>(op)] {
        if (auto op = weak.lock()) {
          op->timer = 0;
          on_timeout(op);
        }
      });
}

void disarm_deadline(EventLoop& loop, QueryOp& op) {
  if (op.timer) loop.cancel_timer(op.timer);
  op.timer = 0;
}

}  // namespace enrich::pg

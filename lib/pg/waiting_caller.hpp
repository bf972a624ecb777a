#pragma once
// A caller that waits outside the pools, in the coalescer or the batcher, keeps its own
// deadline there: the shared execution or batch it waits for has none. What both need of it.
// Loop thread only.

#include <functional>

#include "core/event_loop.hpp"
#include "core/metrics.hpp"
#include "pg/query_op.hpp"

namespace enrich::pg {

/// Completes `op` with a timeout if its deadline has already passed; true if it did.
bool fail_if_expired(QueryOp& op, Metrics* metrics);

/// Arms `op`'s deadline (if it has one): at expiry `on_timeout(op)` runs, `op->timer` already
/// cleared. The timer holds `op` weakly.
void arm_deadline(EventLoop& loop, const QueryOpPtr& op,
                  std::function<void(const QueryOpPtr&)> on_timeout);

/// Cancels the timer arm_deadline set, if any.
void disarm_deadline(EventLoop& loop, QueryOp& op);

}  // namespace enrich::pg

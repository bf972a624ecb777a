#include "pg/pool.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <random>

namespace enrich::pg {
namespace {
constexpr Milliseconds kHousekeepingMax{1000};
constexpr Milliseconds kHousekeepingMin{50};
}  // namespace

Pool::Pool(EventLoop& loop, Canceller& canceller, PoolSettings settings, Logger logger)
    : loop_(loop),
      canceller_(canceller),
      settings_(std::move(settings)),
      logger_(std::move(logger)) {}

Pool::~Pool() = default;

void Pool::start() {
  for (std::size_t i = 0; i < settings_.pool.min_connections; ++i) open_connection();
  housekeeping();
}

// ---- submitting work -------------------------------------------------------------------------

std::optional<Error> Pool::rejection(const QueryOp& op) const {
  if (closing_) return Error{ErrorCode::cancelled, "client closed"};
  if (op.deadline.expired())
    return Error{ErrorCode::timeout, "deadline expired before the query was sent"};
  return std::nullopt;
}

bool Pool::admit(const QueryOpPtr& op) {
  if (op->completed) return false;
  if (auto error = rejection(*op)) {
    op->completed = true;
    op->promise.set_error(std::move(*error));
    return false;
  }
  return true;
}

bool Pool::serving() const {
  return std::any_of(connections_.begin(), connections_.end(),
                     [](auto& c) { return c->ready() && !c->retiring; });
}

std::size_t Pool::load() const {
  std::size_t n = waiting_live_;
  for (auto& c : connections_) n += c->user_in_flight();
  return n;
}

void Pool::submit_group(std::vector<QueryOpPtr> ops) {
  Connection* conn = waiting_live_ == 0 ? least_loaded() : nullptr;
  if (!conn || conn->in_flight() + ops.size() > settings_.pool.max_pipeline_depth) {
    for (auto& op : ops) submit(std::move(op));
    return;
  }
  // Rejected ones are completed only once the others are sent: a continuation may abort a
  // sibling, which must then be in flight (or done), not half-admitted.
  std::vector<QueryOpPtr> admitted;
  std::vector<std::pair<QueryOpPtr, Error>> rejected;
  admitted.reserve(ops.size());
  for (auto& op : ops) {
    if (op->completed) continue;
    if (auto error = rejection(*op)) {
      op->completed = true;
      rejected.emplace_back(std::move(op), std::move(*error));
      continue;
    }
    if (op->deadline.is_set()) arm_timer(op, op->deadline.when());
    op->pool = this;
    if (settings_.connection.metrics) op->admitted_at = Clock::now();
    admitted.push_back(std::move(op));
  }
  counters_.sent.fetch_add(admitted.size(), std::memory_order_relaxed);
  // A wave of reads shares one Sync: one implicit transaction and one send for the group instead
  // of one per statement. Anything else keeps a Sync per statement (isolated errors, commits).
  bool one_sync = admitted.size() > 1 &&
                  std::all_of(admitted.begin(), admitted.end(),
                              [](auto& op) { return op->tx_connection == 0 && op->read_only; });
  std::size_t sent = admitted.size();
  if (one_sync) {
    for (auto& op : admitted) op->shared_sync = true;
    conn->send_group(std::move(admitted));
  } else {
    for (auto& op : admitted) conn->send(std::move(op));
  }
  if (conn->in_flight() > sent) grow_if_needed();
  update_stats();
  for (auto& [op, error] : rejected) op->promise.set_error(std::move(error));
}

void Pool::submit(QueryOpPtr op) {
  if (!admit(op)) return;
  op->pool = this;
  if (settings_.connection.metrics) op->admitted_at = Clock::now();
  counters_.sent.fetch_add(1, std::memory_order_relaxed);
  if (op->tx_connection != 0) {
    Connection* conn = find_connection(op->tx_connection);
    if (!conn || !conn->ready()) {
      op->completed = true;
      op->promise.set_error(
          Error{ErrorCode::connection, "the transaction's connection to the server was lost"});
      return;
    }
    if (op->deadline.is_set()) arm_timer(op, op->deadline.when());
    bool release_after = op->release_after;
    conn->send(std::move(op));
    if (release_after) release(conn->id());
    update_stats();
    return;
  }
  // Fast path: room on a connection and nobody queued ahead.
  if (waiting_live_ == 0) {
    if (Connection* conn = least_loaded()) {
      if (op->deadline.is_set()) arm_timer(op, op->deadline.when());
      conn->send(std::move(op));
      if (conn->in_flight() > 1) grow_if_needed();
      update_stats();
      return;
    }
  }
  if (waiting_live_ >= settings_.pool.max_waiting) {
    op->completed = true;
    op->promise.set_error(
        Error{ErrorCode::pool_queue_full,
              fmt::format("pool wait queue is full ({} requests waiting); try again later",
                          waiting_live_)});
    return;
  }
  op->acquire_deadline = Clock::now() + settings_.pool.acquire_timeout;
  arm_timer(op, std::min(op->acquire_deadline, op->deadline.when()));
  op->in_wait_queue = true;
  waiting_.push_back(std::move(op));
  ++waiting_live_;
  grow_if_needed();
  update_stats();
}

void Pool::resubmit(QueryOpPtr op) {
  // Retries go to the front: they were already admitted once.
  if (op->completed) return;
  if (primary_ && op->use_primary) {
    primary_->adopt(std::move(op));
    return;
  }
  if (Connection* conn = least_loaded(); conn && waiting_live_ == 0) {
    conn->send(std::move(op));
    return;
  }
  op->acquire_deadline = Clock::now() + settings_.pool.acquire_timeout;
  arm_timer(op, std::min(op->acquire_deadline, op->deadline.when()));
  op->in_wait_queue = true;
  waiting_.push_front(std::move(op));
  ++waiting_live_;
  grow_if_needed();
}

bool Pool::reroute(QueryOpPtr& op) {
  if (!primary_ || closing_ || op->completed || op->internal || op->tx_connection != 0 ||
      !op->read_only || op->use_primary)
    return false;
  op->reset_for_retry(false);
  op->use_primary = true;
  counters_.rerouted.fetch_add(1, std::memory_order_relaxed);
  primary_->adopt(std::move(op));
  return true;
}

void Pool::adopt(QueryOpPtr op) {
  if (op->completed) return;
  if (auto error = rejection(*op)) {
    op->completed = true;
    op->promise.set_error(std::move(*error));
    return;
  }
  op->pool = this;
  op->in_wait_queue = false;
  // Its timers belong to the pool it came from; from now on this pool's apply.
  arm_timer(op, op->deadline.when());
  resubmit(std::move(op));
}

void Pool::hand_waiting_to_primary() {
  auto ops = std::move(waiting_);
  waiting_.clear();
  waiting_live_ = 0;
  // Out of this queue first, all of them: handing one over may complete others (a continuation
  // aborting a sibling), which must then not count themselves out of this queue again.
  std::vector<QueryOpPtr> live;
  for (auto& op : ops) {
    if (!op->in_wait_queue) continue;  // completed while waiting
    op->in_wait_queue = false;
    op->use_primary = true;
    live.push_back(std::move(op));
  }
  counters_.rerouted.fetch_add(live.size(), std::memory_order_relaxed);
  for (auto& op : live) primary_->adopt(std::move(op));
}

void Pool::arm_timer(const QueryOpPtr& op, Clock::time_point when) {
  if (op->timer) loop_.cancel_timer(op->timer);
  op->timer = 0;
  if (when == Clock::time_point::max()) return;
  op->timer = loop_.add_timer(when, [this, weak = std::weak_ptr<QueryOp>(op)] {
    if (auto op = weak.lock()) {
      op->timer = 0;
      on_op_timer(op);
    }
  });
}

void Pool::on_op_timer(const QueryOpPtr& op) {
  if (op->completed) return;
  auto now = Clock::now();
  if (op->state == QueryOp::State::queued) {
    if (op->deadline.expired(now)) {
      abort(op, ErrorCode::timeout, "query timed out while waiting for a connection");
    } else if (now >= op->acquire_deadline) {
      abort(op, ErrorCode::pool_timeout,
            fmt::format("no connection available within the acquire timeout of {} ms "
                        "(pool of {} connections, {} waiting)",
                        settings_.pool.acquire_timeout.count(), settings_.pool.max_connections,
                        waiting_live_));
    }
    return;
  }
  if (op->deadline.expired(now))
    abort(op, ErrorCode::timeout, "query timed out; it was cancelled on the server");
  else if (op->deadline.is_set())
    arm_timer(op, op->deadline.when());
}

void Pool::abort(const QueryOpPtr& op, ErrorCode code, std::string message) {
  if (op->completed) return;
  op->completed = true;
  if (op->timer) loop_.cancel_timer(op->timer);
  op->timer = 0;
  if (op->in_wait_queue) {
    op->in_wait_queue = false;
    --waiting_live_;  // its queue entry is skipped later
  } else if (op->state == QueryOp::State::sent) {
    for (auto& conn : connections_) {
      const auto& ops = conn->in_flight_ops();
      if (std::find(ops.begin(), ops.end(), op) != ops.end()) {
        conn->abandon(*op);
        break;
      }
    }
  }
  if (code == ErrorCode::timeout && settings_.connection.metrics)
    settings_.connection.metrics->statement_timeouts.fetch_add(1, std::memory_order_relaxed);
  op->promise.set_error(Error{code, std::move(message)});
  update_stats();
}

// ---- choosing connections ---------------------------------------------------------------------

Connection* Pool::least_loaded() {
  Connection* best = nullptr;
  for (auto& c : connections_) {
    if (!c->ready() || c->reserved || c->draining || c->retiring) continue;
    if (c->in_flight() >= settings_.pool.max_pipeline_depth) continue;
    if (!best || c->in_flight() < best->in_flight()) best = c.get();
  }
  return best;
}

Connection* Pool::idle_connection() {
  for (auto& c : connections_)
    if (c->ready() && !c->reserved && !c->retiring && c->in_flight() == 0) return c.get();
  return nullptr;
}

Connection* Pool::find_connection(std::uint64_t id) {
  for (auto& c : connections_)
    if (c->id() == id) return c.get();
  return nullptr;
}

std::size_t Pool::live_connections() const {
  return connections_.size();
}

void Pool::dispatch() {
  if (closing_) return;
  // Transactions first: they need a connection with nothing in flight.
  while (!tx_waiting_.empty()) {
    if (tx_waiting_.front()->completed) {
      tx_waiting_.pop_front();
      continue;
    }
    Connection* conn = idle_connection();
    if (!conn) break;
    auto request = std::move(tx_waiting_.front());
    tx_waiting_.pop_front();
    --tx_waiting_live_;
    start_transaction(*conn, std::move(request));
  }
  if (tx_waiting_live_ == 0) {
    for (auto& c : connections_) c->draining = false;
  } else if (!idle_connection() && connections_.size() >= settings_.pool.max_connections) {
    // Stop feeding one shared connection so that it drains for the waiting transaction.
    bool any_draining =
        std::any_of(connections_.begin(), connections_.end(), [](auto& c) { return c->draining; });
    if (!any_draining) {
      Connection* victim = nullptr;
      for (auto& c : connections_)
        if (c->ready() && !c->reserved && (!victim || c->in_flight() < victim->in_flight()))
          victim = c.get();
      if (victim) victim->draining = true;
    }
  }
  while (!waiting_.empty()) {
    if (waiting_.front()->completed) {
      waiting_.pop_front();
      continue;
    }
    Connection* conn = least_loaded();
    if (!conn) break;
    QueryOpPtr op = std::move(waiting_.front());
    waiting_.pop_front();
    op->in_wait_queue = false;
    --waiting_live_;
    arm_timer(op, op->deadline.when());  // the acquire timeout no longer applies
    conn->send(std::move(op));
  }
  grow_if_needed();
  update_stats();
}

void Pool::grow_if_needed() {
  if (closing_ || connections_.size() >= settings_.pool.max_connections) return;
  bool connecting = std::any_of(connections_.begin(), connections_.end(), [](auto& c) {
    return c->state() == Connection::State::connecting || c->state() == Connection::State::probing;
  });
  if (connecting) return;  // one connect at a time; the next one when it is done
  bool demand = waiting_live_ > 0 || tx_waiting_live_ > 0;
  if (!demand) {
    // Every shared connection busy: open another one for the next caller.
    demand = std::none_of(connections_.begin(), connections_.end(), [](auto& c) {
      return c->ready() && !c->reserved && c->in_flight() == 0;
    });
    if (connections_.empty()) demand = false;
  }
  if (!demand) return;
  auto now = Clock::now();
  if (now < next_connect_at_) {
    if (!backoff_timer_)
      backoff_timer_ = loop_.add_timer(next_connect_at_, [this] {
        backoff_timer_ = 0;
        grow_if_needed();
      });
    return;
  }
  open_connection();
}

void Pool::open_connection() {
  auto conn = std::make_unique<Connection>(next_connection_id_++, loop_, *this, canceller_,
                                           settings_.connection, logger_);
  auto lifetime = settings_.pool.max_lifetime;
  if (lifetime.count() > 0) {
    static thread_local std::mt19937 rng{std::random_device{}()};
    double j = settings_.pool.lifetime_jitter;
    std::uniform_real_distribution<double> dist(1.0 - j, 1.0 + j);
    conn->expires_at =
        Clock::now() + std::chrono::duration_cast<Milliseconds>(lifetime * dist(rng));
  }
  Connection& ref = *conn;
  connections_.push_back(std::move(conn));
  counters_.connects.fetch_add(1, std::memory_order_relaxed);
  ref.start(settings_.params);  // may fail at once and call on_closed
  update_stats();
}

// ---- connection events -------------------------------------------------------------------------

void Pool::on_ready(Connection&) {
  backoff_ = Milliseconds(0);
  next_connect_at_ = {};
  dispatch();
}

void Pool::on_room(Connection& conn) {
  if (conn.retiring && conn.in_flight() == 0 && !conn.reserved) {
    conn.close(nullptr, false);
    return;
  }
  dispatch();
}

void Pool::on_closed(Connection& conn, const Error* error, bool was_ready) {
  auto it = std::find_if(connections_.begin(), connections_.end(),
                         [&](auto& c) { return c.get() == &conn; });
  if (it == connections_.end()) return;
  // Destroy after the caller (the connection itself) has returned.
  graveyard_.push_back(std::move(*it));
  connections_.erase(it);
  if (graveyard_.size() == 1) loop_.post([this] { graveyard_.clear(); });
  if (closing_) return;

  if (error && !was_ready) {
    counters_.connect_failures.fetch_add(1, std::memory_order_relaxed);
    backoff_ = backoff_.count() == 0 ? settings_.pool.reconnect_backoff_initial
                                     : std::min(backoff_ * 2, settings_.pool.reconnect_backoff_max);
    next_connect_at_ = Clock::now() + backoff_;
    bool any_ready =
        std::any_of(connections_.begin(), connections_.end(), [](auto& c) { return c->ready(); });
    // Nothing can serve the waiters: a replica's go to the primary; otherwise tell them now
    // what is wrong instead of at their timeout.
    if (!any_ready) {
      if (primary_)
        hand_waiting_to_primary();
      else
        fail_waiting(*error);
    }
  }
  dispatch();
}

void Pool::fail_waiting(const Error& error) {
  auto ops = std::move(waiting_);
  waiting_.clear();
  waiting_live_ = 0;
  auto txs = std::move(tx_waiting_);
  tx_waiting_.clear();
  tx_waiting_live_ = 0;
  // Mark everything completed before the first promise runs a continuation: a continuation may
  // abort a sibling still in `ops` (a plan failing fast), which must then find it already done
  // instead of decrementing waiting_live_ again.
  std::vector<QueryOpPtr> live;
  for (auto& op : ops) {
    op->in_wait_queue = false;
    if (op->completed) continue;
    op->completed = true;
    if (op->timer) loop_.cancel_timer(op->timer);
    op->timer = 0;
    live.push_back(std::move(op));
  }
  std::vector<std::function<void(Result<std::uint64_t>)>> tx_done;
  for (auto& tx : txs) {
    if (tx->completed) continue;
    tx->completed = true;
    if (tx->timer) loop_.cancel_timer(tx->timer);
    tx->timer = 0;
    if (tx->done) tx_done.push_back(std::move(tx->done));
  }
  for (auto& op : live) op->promise.set_error(error);
  for (auto& done : tx_done) done(error);
}

// ---- transactions -------------------------------------------------------------------------------

void Pool::begin_transaction(TxRequestPtr request) {
  if (closing_) {
    complete_tx(request, Error{ErrorCode::cancelled, "client closed"});
    return;
  }
  if (Connection* conn = idle_connection(); conn && tx_waiting_live_ == 0) {
    start_transaction(*conn, std::move(request));
    return;
  }
  if (tx_waiting_live_ >= settings_.pool.max_waiting) {
    complete_tx(request, Error{ErrorCode::pool_queue_full, "pool wait queue is full"});
    return;
  }
  request->acquire_deadline = Clock::now() + settings_.pool.acquire_timeout;
  auto when = std::min(request->acquire_deadline, request->deadline.when());
  request->timer = loop_.add_timer(when, [this, weak = std::weak_ptr<TxRequest>(request)] {
    if (auto r = weak.lock()) {
      r->timer = 0;
      on_tx_timer(r);
    }
  });
  tx_waiting_.push_back(std::move(request));
  ++tx_waiting_live_;
  dispatch();
}

void Pool::abort_transaction(const TxRequestPtr& request) {
  if (request->completed) return;
  --tx_waiting_live_;  // a request is either handed a connection at once or waiting
  complete_tx(request, Error{ErrorCode::cancelled, "transaction request cancelled"});
  dispatch();
}

void Pool::on_tx_timer(const TxRequestPtr& request) {
  if (request->completed) return;
  --tx_waiting_live_;
  if (request->deadline.expired())
    complete_tx(request,
                Error{ErrorCode::timeout, "transaction timed out waiting for a connection"});
  else
    complete_tx(request, Error{ErrorCode::pool_timeout,
                               fmt::format("no connection free for a transaction within {} ms",
                                           settings_.pool.acquire_timeout.count())});
  dispatch();
}

void Pool::start_transaction(Connection& conn, TxRequestPtr request) {
  conn.reserved = true;
  conn.draining = false;
  if (request->timer) loop_.cancel_timer(request->timer);
  request->timer = 0;
  complete_tx(request, conn.id());
  update_stats();
}

void Pool::complete_tx(const TxRequestPtr& request, Result<std::uint64_t> result) {
  if (request->completed) return;
  request->completed = true;
  if (request->timer) loop_.cancel_timer(request->timer);
  request->timer = 0;
  auto done = std::move(request->done);
  if (done) done(std::move(result));
}

void Pool::release(std::uint64_t connection_id) {
  if (Connection* conn = find_connection(connection_id)) {
    conn->reserved = false;
    dispatch();
  }
}

// ---- housekeeping -------------------------------------------------------------------------------

void Pool::housekeeping() {
  housekeeping_timer_ = 0;
  if (closing_) return;
  auto now = Clock::now();
  const auto& opt = settings_.pool;
  std::vector<Connection*> to_close;
  std::size_t count = connections_.size();
  for (auto& c : connections_) {
    if (!c->ready() || c->reserved || c->in_flight() > 0) continue;
    if (now >= c->expires_at) {
      c->retiring = true;
      to_close.push_back(c.get());
    } else if (count > opt.min_connections && opt.idle_timeout.count() > 0 &&
               now - c->last_active >= opt.idle_timeout) {
      to_close.push_back(c.get());
      --count;
    } else if (opt.health_check_interval.count() > 0 &&
               now - c->last_active >= opt.health_check_interval) {
      // A ping through the pipeline; a dead connection fails it and is replaced.
      auto ping = std::make_shared<QueryOp>();
      ping->sql = "SELECT 1";
      ping->internal = true;
      ping->completed = true;
      c->send(std::move(ping));
    }
  }
  for (Connection* c : to_close) c->close(nullptr, false);
  if (connections_.size() < opt.min_connections && now >= next_connect_at_) open_connection();

  auto period =
      std::clamp(std::min(opt.idle_timeout.count() > 0 ? opt.idle_timeout / 4 : kHousekeepingMax,
                          opt.health_check_interval.count() > 0 ? opt.health_check_interval / 4
                                                                : kHousekeepingMax),
                 kHousekeepingMin, kHousekeepingMax);
  housekeeping_timer_ = loop_.add_timer(now + period, [this] { housekeeping(); });
  update_stats();
}

void Pool::shutdown() {
  if (closing_) return;
  closing_ = true;
  if (housekeeping_timer_) loop_.cancel_timer(housekeeping_timer_);
  if (backoff_timer_) loop_.cancel_timer(backoff_timer_);
  Error cancelled{ErrorCode::cancelled, "client closed"};
  fail_waiting(cancelled);
  // Closing fails every in-flight statement with `cancelled` and stops running ones on the server.
  auto connections = std::move(connections_);
  connections_.clear();
  for (auto& c : connections) c->close(nullptr, true);
  update_stats();
}

void Pool::update_stats() {
  std::size_t idle = 0, tx = 0, in_flight = 0;
  for (auto& c : connections_) {
    if (c->ready() && c->in_flight() == 0 && !c->reserved) ++idle;
    if (c->reserved) ++tx;
    in_flight += c->user_in_flight();
  }
  counters_.connections.store(connections_.size(), std::memory_order_relaxed);
  counters_.idle.store(idle, std::memory_order_relaxed);
  counters_.in_transaction.store(tx, std::memory_order_relaxed);
  counters_.in_flight.store(in_flight, std::memory_order_relaxed);
  counters_.waiting.store(waiting_live_ + tx_waiting_live_, std::memory_order_relaxed);
}

void Pool::add_stats(PoolStats& out) const {
  out.connections += counters_.connections.load(std::memory_order_relaxed);
  out.idle += counters_.idle.load(std::memory_order_relaxed);
  out.in_transaction += counters_.in_transaction.load(std::memory_order_relaxed);
  out.in_flight += counters_.in_flight.load(std::memory_order_relaxed);
  out.waiting += counters_.waiting.load(std::memory_order_relaxed);
  out.connects += counters_.connects.load(std::memory_order_relaxed);
  out.connect_failures += counters_.connect_failures.load(std::memory_order_relaxed);
}

void Pool::add_replica_stats(PoolStats& out) const {
  out.replica_connections += counters_.connections.load(std::memory_order_relaxed);
  out.replica_reads += counters_.sent.load(std::memory_order_relaxed);
  out.replica_fallbacks += counters_.rerouted.load(std::memory_order_relaxed);
}

}  // namespace enrich::pg

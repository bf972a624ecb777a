#include "pg/connection.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <vector>

namespace enrich::pg {
namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// A cancel we sent for one statement can reach the backend while it already runs the next one
// in the pipeline. A statement failing with query_canceled within this window after a cancel
// meant for another statement is sent again (its implicit transaction was rolled back).
constexpr auto kForeignCancelWindow = std::chrono::seconds(10);
// Retries of a statement hit by a neighbour's cancel are not its own fault: allow more of them
// than of stale-statement retries, but still a bounded number.
constexpr int kMaxRetries = 2;
constexpr int kMaxForeignCancelRetries = 16;
// A cancel that reaches the backend between two statements is ignored by Postgres. While the
// statement we meant to stop is still at the head of the pipeline, send it again, backing off.
constexpr Milliseconds kCancelRecheckFirst{50};
constexpr Milliseconds kCancelRecheckMax{1000};

void notice_to_log(void* arg, const PGresult* result) {
  auto* logger = static_cast<Logger*>(arg);
  if (!logger->enabled(LogLevel::debug)) return;
  logger->log(LogLevel::debug, "pg.notice", {{"message", trim(PQresultErrorMessage(result))}});
}

}  // namespace

Error error_from_result(const PGresult* result) {
  const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
  const char* detail = PQresultErrorField(result, PG_DIAG_MESSAGE_DETAIL);
  const char* hint = PQresultErrorField(result, PG_DIAG_MESSAGE_HINT);
  Error e;
  e.sqlstate = state ? state : "";
  e.message = primary ? primary : trim(PQresultErrorMessage(result));
  e.detail = detail ? detail : "";
  e.hint = hint ? hint : "";
  static constexpr int kDiag[kErrorFieldCount] = {
      PG_DIAG_SEVERITY_NONLOCALIZED, PG_DIAG_STATEMENT_POSITION,
      PG_DIAG_SCHEMA_NAME,           PG_DIAG_TABLE_NAME,
      PG_DIAG_COLUMN_NAME,           PG_DIAG_DATATYPE_NAME,
      PG_DIAG_CONSTRAINT_NAME,       PG_DIAG_CONTEXT};
  std::array<std::string, kErrorFieldCount> fields;
  bool any = false;
  for (std::size_t i = 0; i < kErrorFieldCount; ++i) {
    if (const char* v = PQresultErrorField(result, kDiag[i])) {
      fields[i] = v;
      any = true;
    }
  }
  if (any) e.fields = std::make_shared<const std::array<std::string, kErrorFieldCount>>(fields);
  // No SQLSTATE: libpq itself reports a broken connection. 57P0x: the server is shutting down.
  bool connection_level = e.sqlstate.empty() || e.sqlstate.starts_with("08") ||
                          e.sqlstate == "57P01" || e.sqlstate == "57P02" || e.sqlstate == "57P03";
  e.code = connection_level ? ErrorCode::connection : ErrorCode::query;
  return e;
}

Connection::Connection(std::uint64_t id, EventLoop& loop, ConnectionOwner& owner,
                       Canceller& canceller, const ConnectionSettings& settings, Logger logger)
    : id_(id),
      loop_(loop),
      owner_(owner),
      canceller_(canceller),
      settings_(settings),
      logger_(std::move(logger)),
      cache_(settings.statement_cache_size) {
  created_at = last_active = Clock::now();
}

Connection::~Connection() {
  if (fd_ >= 0) loop_.unwatch(fd_);
  if (connect_timer_) loop_.cancel_timer(connect_timer_);
  if (cancel_recheck_timer_) loop_.cancel_timer(cancel_recheck_timer_);
  if (conn_) PQfinish(conn_);
}

Error Connection::connection_error(std::string_view what) const {
  std::string detail = conn_ ? trim(PQerrorMessage(conn_)) : std::string();
  return Error{ErrorCode::connection,
               detail.empty() ? fmt::format("{} ({})", what, redacted_dsn_)
                              : fmt::format("{}: {} ({})", what, detail, redacted_dsn_)};
}

void Connection::start(const ConnParams& params) {
  redacted_dsn_ = params.redacted();
  conn_ = PQconnectStartParams(params.keywords(), params.values(), 0);
  if (!conn_ || PQstatus(conn_) == CONNECTION_BAD) {
    fail(connection_error("could not start connecting"));
    return;
  }
  connect_timer_ = loop_.add_timer(Clock::now() + settings_.connect_timeout, [this] {
    connect_timer_ = 0;
    fail(Error{ErrorCode::connection,
               fmt::format("connect timed out after {} ms ({})", settings_.connect_timeout.count(),
                           redacted_dsn_)});
  });
  poll_ = PGRES_POLLING_WRITING;  // libpq: wait for writability before the first poll
  update_watch();
}

void Connection::update_watch() {
  if (state_ == State::closed) return;
  int fd = PQsocket(conn_);
  std::uint32_t events = EPOLLRDHUP;
  if (state_ == State::connecting) {
    events |= poll_ == PGRES_POLLING_READING ? std::uint32_t{EPOLLIN} : std::uint32_t{EPOLLOUT};
  } else {
    events |= EPOLLIN;
    if (want_write_) events |= EPOLLOUT;
  }
  if (fd != fd_) {
    // libpq may switch sockets while connecting (several hosts, SSL retry).
    if (fd_ >= 0) loop_.unwatch(fd_);
    fd_ = fd;
    watched_events_ = events;
    if (fd_ >= 0) loop_.watch(fd_, events, [this](std::uint32_t ev) { on_io(ev); });
  } else if ((events != watched_events_ || state_ == State::connecting) && fd_ >= 0) {
    // While connecting, libpq may have closed the socket and opened the next host's with the
    // same number: modify() then registers the new one.
    watched_events_ = events;
    loop_.modify(fd_, events);
  }
}

void Connection::on_io(std::uint32_t events) {
  if (state_ == State::connecting) {
    continue_connect();
    return;
  }
  if (state_ != State::ready && state_ != State::probing) return;
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) {
    if (!PQconsumeInput(conn_)) {
      fail(connection_error("connection to server lost"));
      return;
    }
    read_results();
    if (state_ != State::ready && state_ != State::probing) return;
  }
  if (want_write_ || (events & EPOLLOUT)) flush();
}

void Connection::continue_connect() {
  poll_ = PQconnectPoll(conn_);
  switch (poll_) {
    case PGRES_POLLING_FAILED:
      fail(connection_error("could not connect to server"));
      return;
    case PGRES_POLLING_OK:
      on_connected();
      return;
    default:
      update_watch();
  }
}

void Connection::on_connected() {
  if (PQsetnonblocking(conn_, 1) != 0 || PQenterPipelineMode(conn_) != 1) {
    fail(connection_error("could not enter pipeline mode"));
    return;
  }
  PQsetNoticeReceiver(conn_, notice_to_log, &logger_);
  server_ = std::make_shared<const std::string>(fmt::format("{}:{}", PQhost(conn_), PQport(conn_)));
  if (named_statements()) {
    // Named statements only work when each connection of ours is one server session. A pooler
    // (PgBouncer, Odyssey, ...) answers the startup with a cancel key of its own, whose process
    // id is not the server backend's: ask the backend for its pid before the first statement.
    // Still under the connect timeout.
    if (!send_internal("SELECT pg_backend_pid()", /*probe=*/true)) {
      fail(connection_error("could not send to server"));
      return;
    }
    state_ = State::probing;
    flush();
    return;
  }
  become_ready();
}

void Connection::become_ready() {
  if (connect_timer_) loop_.cancel_timer(connect_timer_);
  connect_timer_ = 0;
  state_ = State::ready;
  last_active = Clock::now();
  update_watch();
  owner_.on_ready(*this);
}

void Connection::on_probe_result(QueryOp& probe) {
  const PGresult* r = probe.result;
  int backend_pid = !probe.error && r && PQntuples(r) == 1 ? std::atoi(PQgetvalue(r, 0, 0)) : 0;
  if (backend_pid != PQbackendPID(conn_)) {
    if (!settings_.statements->behind_pooler.exchange(true))
      logger_.log(LogLevel::info, "pg.pooler_detected",
                  {{"dsn", redacted_dsn_},
                   {"detail", probe.error ? "the process id query failed: " + probe.error->message
                                          : "the cancel key's process id is not the backend's"}});
    if (!settings_.statements->forced_on)
      stop_named_statements("a connection pooler is between enrich and the server");
  }
  become_ready();
}

bool Connection::named_statements() const {
  return !settings_.statements->unnamed.load(std::memory_order_relaxed);
}

void Connection::stop_named_statements(std::string_view reason) {
  if (settings_.statements->unnamed.exchange(true)) return;
  logger_.log(LogLevel::warning, "pg.named_statements_off",
              {{"reason", std::string(reason)},
               {"hint",
                "statements are now sent unnamed (statement_cache=off in the DSN says so "
                "from the start)"}});
}

void Connection::send(QueryOpPtr op) {
  if (state_ != State::ready) {
    owner_.resubmit(std::move(op));
    return;
  }
  std::vector<std::string> evicted;
  if (!enqueue(std::move(op), true, evicted)) return;
  deallocate(evicted);
  last_active = Clock::now();
  flush();
}

void Connection::send_group(std::vector<QueryOpPtr> ops) {
  std::vector<std::string> evicted;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (state_ != State::ready) {
      // The connection failed while sending an earlier one: the rest go elsewhere, alone.
      owner_.resubmit(std::move(ops[i]));
      continue;
    }
    enqueue(std::move(ops[i]), i + 1 == ops.size(), evicted);
  }
  if (state_ != State::ready) return;
  // After the group's Sync, so that no Sync splits the group's transaction.
  deallocate(evicted);
  last_active = Clock::now();
  flush();
}

bool Connection::enqueue(QueryOpPtr op, bool sync, std::vector<std::string>& evicted) {
  bool sent = send_statement(*op, sync, evicted);
  // In the in-flight list before anything sent after it (results arrive in sending order).
  if (!op->internal) ++user_in_flight_;
  op->state = QueryOp::State::sent;
  if (!op->internal) {
    op->sent_at = Clock::now();
    if (op->timed) op->server = server_;
    if (settings_.metrics && op->admitted_at != Clock::time_point{}) {
      settings_.metrics->pool_wait.observe(op->sent_at - op->admitted_at);
      op->admitted_at = {};
    }
  }
  in_flight_.push_back(std::move(op));
  if (!sent) fail(connection_error("could not send statement"));  // completes it with the error
  return sent;
}

bool Connection::send_statement(QueryOp& op, bool sync, std::vector<std::string>& evicted) {
  // Parameter pointers on the stack for the usual few parameters.
  constexpr std::size_t kInline = 16;
  const char* inline_values[kInline];
  std::vector<const char*> heap_values;
  const char** values = inline_values;
  if (op.params.size() > kInline) {
    heap_values.resize(op.params.size());
    values = heap_values.data();
  }
  for (std::size_t i = 0; i < op.params.size(); ++i) {
    const auto& p = op.params[i];
    values[i] = p.is_null() ? nullptr : p.text().c_str();
  }
  int n = static_cast<int>(op.params.size());
  op.sync_after = sync;
  op.commands_left = 1;
  bool ok;
  if (!op.internal && !op.unnamed && named_statements()) {
    auto lookup = cache_.get(op.sql, op.params.size());
    op.statement_name = lookup.name;
    if (lookup.evicted) evicted.push_back(std::move(*lookup.evicted));
    ok = true;
    if (lookup.fresh) {
      ok = PQsendPrepare(conn_, lookup.name.c_str(), op.sql.c_str(), n, nullptr) == 1;
      op.awaiting_prepare = op.prepared_here = true;
      op.commands_left = 2;
    }
    ok = ok && PQsendQueryPrepared(conn_, lookup.name.c_str(), n, values, nullptr, nullptr, 0) == 1;
  } else {
    ok = PQsendQueryParams(conn_, op.sql.c_str(), n, nullptr, values, nullptr, nullptr, 0) == 1;
  }
  return ok && (!sync || PQpipelineSync(conn_) == 1);
}

void Connection::deallocate(const std::vector<std::string>& names) {
  // Behind a pooler a DEALLOCATE reaches whichever server connection is free, where the name may
  // be another client's statement. There, evicted statements stay prepared instead.
  if (settings_.statements->behind_pooler.load(std::memory_order_relaxed)) return;
  for (const auto& name : names) send_internal("DEALLOCATE " + name);
}

bool Connection::send_internal(std::string sql, bool probe) {
  auto op = std::make_shared<QueryOp>();
  op->sql = std::move(sql);
  op->internal = true;
  op->probe = probe;
  op->completed = true;  // nobody waits for it
  op->commands_left = 1;
  if (PQsendQueryParams(conn_, op->sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0) != 1 ||
      PQpipelineSync(conn_) != 1)
    return false;
  op->state = QueryOp::State::sent;
  in_flight_.push_back(std::move(op));
  return true;
}

void Connection::flush() {
  int r = PQflush(conn_);
  if (r < 0) {
    fail(connection_error("could not send to server"));
    return;
  }
  want_write_ = (r == 1);
  update_watch();
}

void Connection::read_results() {
  bool previous_was_null = false;
  while (!in_flight_.empty() && !PQisBusy(conn_)) {
    PGresult* r = PQgetResult(conn_);
    QueryOp& op = *in_flight_.front();
    if (!r) {
      // End of one libpq command. Two in a row means libpq has nothing more for now.
      if (previous_was_null) break;
      previous_was_null = true;
      if (op.commands_left > 0 && --op.commands_left == 0 && !op.sync_after) {
        // A statement of a group without its own Sync: its last command ended, it is done.
        finish_head();
        if (state_ != State::ready) return;
      }
      continue;
    }
    previous_was_null = false;
    switch (PQresultStatus(r)) {
      case PGRES_PIPELINE_SYNC:
        PQclear(r);
        if (!op.sync_after || op.commands_left != 0) {
          // Never expected: rather fail everything on this connection than hand a statement
          // another one's result.
          fail(Error{ErrorCode::internal, "pipeline results out of step with statements"});
          return;
        }
        finish_head();
        if (state_ != State::ready) return;
        break;
      case PGRES_FATAL_ERROR:
        if (!op.error) op.error = error_from_result(r);
        op.awaiting_prepare = false;
        PQclear(r);
        break;
      case PGRES_PIPELINE_ABORTED:
        // An earlier statement before the same Sync failed; this one never ran.
        if (!op.error) {
          op.error = Error{ErrorCode::query, "statement aborted: an earlier step failed"};
          op.aborted = true;
        }
        op.awaiting_prepare = false;
        PQclear(r);
        break;
      case PGRES_COMMAND_OK:
      case PGRES_TUPLES_OK:
      case PGRES_EMPTY_QUERY:
        if (op.awaiting_prepare) {
          op.awaiting_prepare = false;
          op.prepare_done = true;
          PQclear(r);
        } else {
          if (op.result) PQclear(op.result);
          op.result = r;
        }
        break;
      default:
        // COPY and friends are not supported through the shared pipeline.
        if (!op.error)
          op.error = Error{ErrorCode::invalid_argument,
                           fmt::format("unsupported result status {} (COPY is not supported)",
                                       PQresStatus(PQresultStatus(r)))};
        PQclear(r);
    }
  }
  if (PQstatus(conn_) == CONNECTION_BAD) fail(connection_error("connection to server lost"));
}

void Connection::finish_head() {
  QueryOpPtr op = std::move(in_flight_.front());
  in_flight_.pop_front();
  if (!op->internal) --user_in_flight_;
  op->state = QueryOp::State::finished;
  if (op->probe) {
    on_probe_result(*op);
    return;
  }
  last_active = Clock::now();
  // Past a Sync, the next segment may now run on the server; stop what its callers gave up on.
  if (op->sync_after) cancel_abandoned_in_head_segment();

  if (op->error && op->aborted) {
    if (op->prepared_here && !op->prepare_done)
      cache_.erase(op->sql, op->statement_name);  // its Parse never ran
    if (!op->completed && !op->internal && op->tx_connection == 0) {
      // It shared a Sync with a statement that failed and so never ran: send it again alone,
      // so that its caller gets its own result (not counted as a retry: not its fault).
      logger_.log(LogLevel::debug, "pg.statement_retried", {{"reason", "group aborted"}});
      count_retry();
      op->reset_for_retry(false);
      owner_.resubmit(std::move(op));
      owner_.on_room(*this);
      return;
    }
  } else if (op->error) {
    Error& e = *op->error;
    if (e.sqlstate == "25006" && !op->completed && op->tx_connection == 0) {
      // A replica refused a statement judged read-only (it writes, through a function or
      // nextval): the pool runs it again on the primary.
      if (op->prepared_here && !op->prepare_done) cache_.erase(op->sql, op->statement_name);
      if (owner_.reroute(op)) {
        count_retry();
        owner_.on_room(*this);
        return;
      }
    }
    bool named = !op->statement_name.empty();
    // The server connection lost a statement this connection prepared (26000 while our cache
    // still has it), or already had one of the name we prepare (42P05): the server connection is
    // not the one we prepared on, which is what a pooler in transaction mode does. Names mean one
    // statement everywhere (statement_name), so no caller got another statement's rows; from now
    // on every connection of this client sends statements unnamed.
    // The message names the statement: a user's own EXECUTE or PREPARE failing with the same
    // SQLSTATE names theirs.
    bool about_ours = named && e.message.find(op->statement_name) != std::string::npos;
    bool moved_session = about_ours && ((e.sqlstate == "26000" && !op->prepared_here &&
                                         cache_.contains(op->sql, op->statement_name)) ||
                                        e.sqlstate == "42P05");
    if (moved_session) {
      stop_named_statements(fmt::format("SQLSTATE {} for prepared statement {}: {}", e.sqlstate,
                                        op->statement_name, e.message));
      if (op->tx_connection != 0 && !op->completed)
        e.message = fmt::format(
            "{} (inside a transaction: the server connection does not hold this connection's "
            "prepared statements, as behind PgBouncer in transaction mode; enrich now sends "
            "statements unnamed, run the transaction again)",
            e.message);
    }
    bool stale_statement = named && (e.sqlstate == "26000" || e.sqlstate == "0A000");
    // A statement whose Parse succeeded stays cached whatever its Execute did (an error in the
    // query, a cancel): the server holds it under that name, and preparing it again would fail
    // with 42P05.
    if ((op->prepared_here && !op->prepare_done) || stale_statement || moved_session)
      cache_.erase(op->sql, op->statement_name);
    if (stale_statement && e.sqlstate == "0A000")
      deallocate({op->statement_name});  // so that the same name can be prepared afresh
    bool foreign_cancel = e.sqlstate == "57014" && !op->cancel_target &&
                          Clock::now() - last_cancel_sent_ < kForeignCancelWindow;
    int limit = foreign_cancel ? kMaxForeignCancelRetries : kMaxRetries;
    if (!op->completed && !op->internal && op->tx_connection == 0 && op->retries < limit &&
        (stale_statement || moved_session || foreign_cancel)) {
      // 26000: the statement this one relied on was never prepared (an earlier Parse of it in
      // the pipeline failed) or was dropped: run it unnamed, which reports its real error
      // instead of re-preparing in a chain. 0A000 (plan changed): prepare it afresh, or unnamed
      // where the old one cannot be deallocated (behind a pooler).
      bool unnamed = e.sqlstate == "26000" || moved_session ||
                     settings_.statements->behind_pooler.load(std::memory_order_relaxed);
      logger_.log(LogLevel::debug, "pg.statement_retried",
                  {{"reason", foreign_cancel ? "neighbour cancel" : "stale prepared statement"},
                   {"sqlstate", e.sqlstate}});
      count_retry();
      op->reset_for_retry();
      op->unnamed = op->unnamed || unnamed;
      owner_.resubmit(std::move(op));
      owner_.on_room(*this);
      return;
    }
  }

  // Finished for good: drop its deadline timer now. A pending timer keeps the op's allocation
  // (make_shared: object and control block together) alive through its weak_ptr until the
  // deadline passes, so under load every statement of the last deadline's worth stayed resident.
  cancel_timer(*op);
  if (settings_.metrics && !op->internal) {
    settings_.metrics->statements.fetch_add(1, std::memory_order_relaxed);
    settings_.metrics->statement.observe(Clock::now() - op->sent_at);
    if (op->error) settings_.metrics->statement_failed(op->error->code, op->error->sqlstate);
  }
  if (!op->completed) {
    op->completed = true;
    if (op->error) {
      op->promise.set_error(std::move(*op->error));
    } else {
      PGresult* r = op->result;
      op->result = nullptr;
      op->promise.set_value(QueryResult(r));
    }
  }
  owner_.on_room(*this);
}

void Connection::cancel_timer(QueryOp& op) {
  if (op.timer) loop_.cancel_timer(op.timer);
  op.timer = 0;
}

bool Connection::in_head_segment(const QueryOp& op) const {
  for (const auto& p : in_flight_) {
    if (p.get() == &op) return true;
    if (p->sync_after) return false;
  }
  return false;
}

QueryOp* Connection::cancel_target_in_head_segment() const {
  for (const auto& p : in_flight_) {
    if (p->cancel_target) return p.get();
    if (p->sync_after) break;
  }
  return nullptr;
}

void Connection::cancel_abandoned_in_head_segment() {
  QueryOp* target = nullptr;
  for (const auto& p : in_flight_) {
    if (p->cancel_when_head) {
      p->cancel_when_head = false;
      p->cancel_target = true;
      if (!target) target = p.get();
    }
    if (p->sync_after) break;
  }
  if (target) send_cancel(*target);
}

void Connection::abandon(QueryOp& op) {
  if (state_ != State::ready || in_flight_.empty()) return;
  // The server may be running any statement before the first Sync still in flight (the head
  // segment: a single statement, or a whole read-only group whose earlier results it holds
  // back until the Sync). Behind that Sync it cannot run yet: cancel once it may.
  if (in_head_segment(op)) {
    op.cancel_target = true;
    send_cancel(op);
  } else {
    op.cancel_when_head = true;
  }
}

void Connection::send_cancel(const QueryOp& target) {
  last_cancel_sent_ = Clock::now();
  canceller_.submit(PQgetCancel(conn_));
  if (!cancel_recheck_timer_) {
    cancel_target_ = &target;
    cancel_recheck_delay_ = kCancelRecheckFirst;
    schedule_cancel_recheck();
  }
}

void Connection::schedule_cancel_recheck() {
  cancel_recheck_timer_ = loop_.add_timer(Clock::now() + cancel_recheck_delay_, [this] {
    cancel_recheck_timer_ = 0;
    if (state_ != State::ready || in_flight_.empty()) return;
    // Compared by address only: cancel_target_ may be gone, in_flight_ holds the live ones.
    QueryOp* target = cancel_target_in_head_segment();
    if (!target) return;  // what we cancelled has ended
    if (target == cancel_target_) {
      logger_.log(LogLevel::debug, "pg.cancel_resent", {{"connection", std::to_string(id_)}});
      last_cancel_sent_ = Clock::now();
      canceller_.submit(PQgetCancel(conn_));
      cancel_recheck_delay_ = std::min(cancel_recheck_delay_ * 2, kCancelRecheckMax);
    } else {
      // Another abandoned statement may run now (its first cancel went out then).
      cancel_target_ = target;
      cancel_recheck_delay_ = kCancelRecheckFirst;
    }
    schedule_cancel_recheck();
  });
}

void Connection::fail(Error error) {
  if (state_ == State::closed) return;
  if (state_ == State::ready) {
    logger_.log(LogLevel::warning, "pg.connection_lost",
                {{"connection", std::to_string(id_)}, {"error", error.message}});
  } else {
    logger_.log(LogLevel::warning, "pg.connect_failed",
                {{"dsn", redacted_dsn_}, {"error", error.message}});
  }
  close(&error, false);
}

void Connection::close(const Error* error, bool cancel_running) {
  if (state_ == State::closed) return;
  bool was_ready = state_ == State::ready;
  if (cancel_running && was_ready && user_in_flight_ > 0) send_cancel(*in_flight_.front());
  state_ = State::closed;
  if (fd_ >= 0) loop_.unwatch(fd_);
  fd_ = -1;
  if (connect_timer_) loop_.cancel_timer(connect_timer_);
  connect_timer_ = 0;
  if (cancel_recheck_timer_) loop_.cancel_timer(cancel_recheck_timer_);
  cancel_recheck_timer_ = 0;
  auto ops = std::move(in_flight_);
  in_flight_.clear();
  user_in_flight_ = 0;
  if (conn_) PQfinish(conn_);
  conn_ = nullptr;
  Error cancelled{ErrorCode::cancelled, "client closed"};
  for (auto& op : ops) {
    op->state = QueryOp::State::finished;
    cancel_timer(*op);
    if (!op->completed) {
      // A read lost with its replica connection runs again on the primary.
      if (error && !op->internal && owner_.reroute(op)) continue;
      op->completed = true;
      op->promise.set_error(error ? *error : cancelled);
    }
  }
  owner_.on_closed(*this, error, was_ready);
}

}  // namespace enrich::pg

// Clients, plans and transactions, and starting one operation of any kind.

#include "native.hpp"

namespace enrich_py {

NativeClient::~NativeClient() {
  // Normally closed already (Client.aclose or its weakref finalizer); this is the last resort.
  std::unique_lock lock(mu);
  if (handle) enrich_client_destroy(handle);
  handle = nullptr;
}

void NativeClient::close() {
  enrich_client* h = nullptr;
  {
    // The core cancels what is in flight and joins its threads: never hold the GIL meanwhile
    // (a thread finishing a call may need it), and never while holding the lock a caller with
    // the GIL may be waiting for.
    py::gil_scoped_release nogil;
    std::unique_lock lock(mu);
    h = handle;
    handle = nullptr;
    if (h) enrich_client_destroy(h);
  }
}

OpenClient::OpenClient(NativeClient& client) : lock(client.mu), handle(client.handle) {
  if (!handle) {
    lock.unlock();
    raise_error(ENRICH_ERR_CLOSED, "the client is closed");
  }
}

NativePlan::~NativePlan() {
  if (handle) enrich_plan_free(handle);
}

NativeTx::~NativeTx() {
  if (handle) enrich_tx_free(handle);  // rolls back if unfinished; does not block
}

Op make_query_op(ClientPtr client, TxPtr tx, std::string sql, py::handle args, Kind kind,
                 CallOptions options) {
  Op op;
  op.type = tx ? Op::Type::tx_query : Op::Type::query;
  op.kind = kind;
  op.client = std::move(client);
  op.tx = std::move(tx);
  op.sql = std::move(sql);
  op.params.from(args);
  op.options = options;
  return op;
}

namespace {
const char* what(Op::Type t) {
  switch (t) {
    case Op::Type::query:
      return "query";
    case Op::Type::tx_query:
      return "transaction query";
    case Op::Type::tx_begin:
      return "transaction";
    case Op::Type::tx_commit:
      return "commit";
    case Op::Type::tx_rollback:
      return "rollback";
    case Op::Type::http:
      return "HTTP request";
    case Op::Type::plan:
      return "plan run";
  }
  return "operation";
}

enrich_tx* tx_handle(const Op& op) {
  if (!op.tx || !op.tx->handle) raise_error(ENRICH_ERR_CLOSED, "the transaction is finished");
  return op.tx->handle;
}
}  // namespace

enrich_op_id start(Op& op, enrich_queue* queue, void* user_data) {
  enrich_op_id id = 0;
  enrich_status s = ENRICH_ERR_INTERNAL;
  enrich_call_options o = op.options.c();
  OpenClient client(*op.client);
  switch (op.type) {
    case Op::Type::query:
      s = enrich_query(client.handle, queue, op.sql.c_str(), op.params.data(), op.params.size(), &o,
                       user_data, &id);
      break;
    case Op::Type::tx_query:
      s = enrich_tx_query(tx_handle(op), queue, op.sql.c_str(), op.params.data(), op.params.size(),
                          &o, user_data, &id);
      break;
    case Op::Type::tx_begin:
      s = enrich_tx_begin(client.handle, queue, &o, user_data, &id);
      break;
    case Op::Type::tx_commit:
      s = enrich_tx_commit(tx_handle(op), queue, user_data, &id);
      break;
    case Op::Type::tx_rollback:
      s = enrich_tx_rollback(tx_handle(op), queue, user_data, &id);
      break;
    case Op::Type::http: {
      std::vector<enrich_header> headers;
      headers.reserve(op.headers.size());
      for (auto& [k, v] : op.headers) headers.push_back(enrich_header{k.c_str(), v.c_str()});
      enrich_http_request r = ENRICH_HTTP_REQUEST_INIT;
      r.method = op.method.c_str();
      r.url = op.url.c_str();
      r.headers = headers.data();
      r.header_count = headers.size();
      if (op.has_body) {
        r.body = op.body.data();
        r.body_length = op.body.size();
      }
      r.timeout_ms = op.options.timeout_ms;
      r.retry = op.retry;
      s = enrich_http(client.handle, queue, &r, &o, user_data, &id);
      break;
    }
    case Op::Type::plan:
      if (!op.plan || !op.plan->handle) raise_error(ENRICH_ERR_INVALID_ARGUMENT, "not a plan");
      s = enrich_plan_run(client.handle, queue, op.plan->handle, op.inputs_json.c_str(), &o,
                          user_data, &id);
      break;
  }
  if (s != ENRICH_OK) {
    std::string msg =
        std::string("could not start the ") + what(op.type) + ": " + enrich_status_name(s);
    if (s == ENRICH_ERR_CLOSED && op.tx) msg = "the transaction is finished";
    raise_error(s, msg);
  }
  return id;
}

}  // namespace enrich_py

#pragma once
// Internal definitions behind the opaque handles of enrich.h, shared by the capi/*-c.cpp files.
// Handles are entries of the handle table (handle_table.hpp), so that a NULL, destroyed or foreign
// handle, or one of the wrong kind, is
// rejected with ENRICH_ERR_INVALID_ARGUMENT instead of crashing.

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "enrich.h"
#include "enrich/client.hpp"
#include "enrich/plan.hpp"
#include "handle_table.hpp"

namespace enrich::capi {

/// `text` in a NUL-terminated buffer the caller frees with enrich_free.
inline enrich_status copy_out(std::string_view text, char** out) {
  char* buf = static_cast<char*>(std::malloc(text.size() + 1));
  if (!buf) return ENRICH_ERR_NO_MEMORY;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  *out = buf;
  return ENRICH_OK;
}

enrich_status to_status(ErrorCode code);
enrich_error* new_error(const Error& error);

/// C levels are the C++ ones shifted by one: 0 is ENRICH_LOG_DEFAULT in the C API.
inline LogLevel to_core_level(enrich_log_level level) {
  return static_cast<LogLevel>(static_cast<int>(level) - 1);
}
inline enrich_log_level to_c_level(LogLevel level) {
  return static_cast<enrich_log_level>(static_cast<int>(level) + 1);
}

/// The shared state of a queue: alive while the user's handle or any pending operation needs it.
struct QueueCore {
  std::mutex mu;
  std::deque<enrich_completion*> items;
  int event_fd = -1;
  void (*notify)(void*) = nullptr;
  void* notify_payload = nullptr;
  bool closed = false;  // the user destroyed the handle: discard what arrives

  QueueCore();
  ~QueueCore();
  void push(enrich_completion* completion);
  std::size_t poll(enrich_completion** out, std::size_t max);
};

/// Where one operation's completion goes.
struct Target {
  std::shared_ptr<QueueCore> queue;
  enrich_completion_fn callback = nullptr;
  void* payload = nullptr;
  void deliver(enrich_completion* completion) const;
};

/// What a client and its transactions share: the client and the cancel registry.
struct ClientCore {
  std::unique_ptr<Client> client;
  std::mutex mu;
  std::unordered_map<enrich_op_id, std::function<void()>> cancellers;
  std::atomic<enrich_op_id> next_id{1};

  /// Registers a running operation; returns its id.
  enrich_op_id begin(std::function<void()> canceller);
  /// Forgets the operation (it completed); false if it was already gone.
  void end(enrich_op_id id);
};

}  // namespace enrich::capi

struct enrich_error {
  enrich_status code = ENRICH_ERR_INTERNAL;
  std::string message, sqlstate, detail, hint;
  std::array<std::string, enrich::kErrorFieldCount> diag;
  bool retriable = false;
  bool owned_by_completion = false;  // enrich_error_free ignores it
};

struct enrich_queue {
  std::shared_ptr<enrich::capi::QueueCore> core;
};

struct enrich_plan {
  std::optional<enrich::Plan> plan;
};

struct enrich_client {
  std::shared_ptr<enrich::capi::ClientCore> core;
};

struct enrich_tx {
  std::shared_ptr<enrich::capi::ClientCore> core;
  std::optional<enrich::Transaction> tx;
};

struct enrich_completion {
  enrich_completion_kind kind = ENRICH_COMPLETION_QUERY;
  enrich_op_id id = 0;
  void* user_data = nullptr;
  std::unique_ptr<enrich_error> error;
  enrich_error* error_handle = nullptr;  // error's handle, registered with the completion's
  bool has_json = false;
  std::string json;
  std::vector<std::string> warnings;
  double elapsed_ms = 0;
  std::string timings_json;  // empty: none
  enrich::QueryResult rows;
  long http_status = 0;
  enrich::HttpHeaders headers;
  std::unique_ptr<enrich_tx> tx;  // a begun transaction, until enrich_completion_take_tx
  enrich_log_level log_level = ENRICH_LOG_INFO;
  std::string log_event, log_fields;
};

namespace enrich::capi {

/// The value of an enum field as C code stored it. C allows any int there; loading a value
/// outside the enumerators through the C++ enum type is undefined behaviour (UBSan:
/// -fsanitize=enum), so check the raw value before reading the field as the enum.
template <class E>
long long raw_enum(const E& field) {
  std::underlying_type_t<E> v;
  static_assert(sizeof v == sizeof field);
  std::memcpy(&v, &field, sizeof v);
  return static_cast<long long>(v);
}

/// Runs an entry point's body: no C++ exception may cross the C boundary.
template <class F>
enrich_status guarded(F&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return ENRICH_ERR_NO_MEMORY;
  } catch (...) {
    return ENRICH_ERR_INTERNAL;
  }
}

/// The same for entry points that return a value: `fallback` on an exception.
template <class R, class F>
R guarded_or(R fallback, F&& body) noexcept {
  try {
    return body();
  } catch (...) {
    return fallback;
  }
}

}  // namespace enrich::capi

namespace enrich::capi {

template <class T>
struct HandleKindOf;
template <>
struct HandleKindOf<enrich_client> : std::integral_constant<HandleKind, HandleKind::client> {};
template <>
struct HandleKindOf<enrich_queue> : std::integral_constant<HandleKind, HandleKind::queue> {};
template <>
struct HandleKindOf<enrich_plan> : std::integral_constant<HandleKind, HandleKind::plan> {};
template <>
struct HandleKindOf<enrich_tx> : std::integral_constant<HandleKind, HandleKind::tx> {};
template <>
struct HandleKindOf<enrich_completion>
    : std::integral_constant<HandleKind, HandleKind::completion> {};
template <>
struct HandleKindOf<enrich_error> : std::integral_constant<HandleKind, HandleKind::error> {};

static_assert(sizeof(std::uintptr_t) >= 8, "handles need 64-bit pointers");

/// The object behind a C handle; nullptr for NULL, a destroyed or a foreign handle.
template <class T>
T* resolve(T* handle) {
  using U = std::remove_const_t<T>;
  return static_cast<U*>(HandleTable::instance().get(reinterpret_cast<std::uintptr_t>(handle),
                                                     HandleKindOf<U>::value));
}

/// Registers an object the caller now owns through the returned handle.
template <class T>
T* publish(T* object) {
  return reinterpret_cast<T*>(HandleTable::instance().add(HandleKindOf<T>::value, object));
}

/// Ends a handle: its object (to destroy), or null if it was not live (a second destroy).
template <class T>
std::unique_ptr<T> retire(T* handle) {
  return std::unique_ptr<T>(static_cast<T*>(HandleTable::instance().remove(
      reinterpret_cast<std::uintptr_t>(handle), HandleKindOf<T>::value)));
}

/// Hands a completion to the user: registers it (and its error) in the handle table.
enrich_completion* publish_completion(enrich_completion* completion);

}  // namespace enrich::capi

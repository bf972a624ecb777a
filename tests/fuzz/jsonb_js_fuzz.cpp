// libFuzzer target: the node profile's one-pass jsonb transcoder (json::append_js_json_text)
// against the parser's path (json::parse + json::append_js_json). Whatever the fast path accepts,
// the parser must accept and re-serialize to exactly the same text; when it declines, the output
// must be untouched. Built and run by tests/fuzz/run.sh.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "json/profile_json.hpp"
#include "json/value.hpp"

namespace {

[[noreturn]] void fail(const char* what, std::string_view text, std::string_view detail) {
  std::fprintf(stderr, "invariant violated: %s\ninput: %.*s\n%.*s\n", what,
               static_cast<int>(text.size()), text.data(), static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string fast = "prefix";
  if (!enrich::json::append_js_json_text(fast, text)) {
    if (fast != "prefix") fail("declined but wrote output", text, fast);
    return 0;
  }
  auto parsed = enrich::json::parse(text, 512);
  if (!parsed.ok()) fail("accepted what the parser rejects", text, parsed.error().message);
  std::string tree = "prefix";
  enrich::json::append_js_json(tree, parsed.value());
  if (fast != tree) fail("fast path and parser differ", text, fast + "\n" + tree);
  return 0;
}

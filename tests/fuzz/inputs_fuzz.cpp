// libFuzzer target: arbitrary bytes as a plan run's inputs (enrich::parse_inputs_json), bound
// against the reference plan (examples/plans/user_enriched.json) and a plan that declares every
// input type (enrich::bind_inputs), and the bound values percent-encoded as URL path segments.
// Built and run by tests/fuzz/run.sh.

#include <cctype>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "enrich/plan.hpp"
#include "plan/plan_inputs.hpp"
#include "plan/plan_model.hpp"

#ifndef ENRICH_REFERENCE_PLAN
#error "ENRICH_REFERENCE_PLAN (path of examples/plans/user_enriched.json) must be defined"
#endif

namespace {

[[noreturn]] void fail(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "invariant violated: %s\n%.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

// Every input type, with and without defaults (a null default makes the input optional).
constexpr std::string_view kAllTypes = R"({
  "name": "all_types",
  "inputs": {
    "i": {"type": "integer"},
    "n": {"type": "number", "default": 1.5},
    "s": {"type": "string", "default": null},
    "b": {"type": "boolean", "default": false},
    "path": {"type": "string", "default": "a/b"}
  },
  "steps": [
    {"name": "row", "sql": "SELECT $1::int8, $2::float8, $3::text, $4::bool",
     "params": ["i", "n", "s", "b"], "shape": "one"},
    {"name": "call", "http": {"base_url": "http://127.0.0.1:1", "path": "/x/{path}/{i}"},
     "optional": true}
  ]
})";

std::vector<enrich::Plan>& plans() {
  static std::vector<enrich::Plan> all = [] {
    std::vector<enrich::Plan> out;
    auto reference =
        enrich::Plan::load(ENRICH_REFERENCE_PLAN, {{"ANALYTICS_URL", "http://127.0.0.1:8081"}});
    if (!reference.ok()) fail("cannot load the reference plan", reference.error().message);
    out.push_back(std::move(reference).value());
    auto all_types = enrich::Plan::from_json(kAllTypes);
    if (!all_types.ok()) fail("cannot load the all-types plan", all_types.error().message);
    out.push_back(std::move(all_types).value());
    return out;
  }();
  return all;
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A percent-encoded value stays inside one path segment and decodes back to the value.
void check_percent_encoding(std::string_view value) {
  std::string encoded = enrich::percent_encode(value);
  std::string decoded;
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(encoded[i]);
    if (c == '%') {
      if (i + 2 >= encoded.size() || hex(encoded[i + 1]) < 0 || hex(encoded[i + 2]) < 0)
        fail("bad %XX escape", encoded);
      decoded += static_cast<char>(hex(encoded[i + 1]) * 16 + hex(encoded[i + 2]));
      i += 2;
    } else if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      decoded += static_cast<char>(c);
    } else {
      fail("percent_encode left a reserved character", encoded);
    }
  }
  if (decoded != value) fail("percent_encode does not round-trip", encoded);
  if (encoded == "." || encoded == "..") fail("percent_encode produced a dot-segment", encoded);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)plans();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto inputs = enrich::parse_inputs_json(text);
  if (!inputs.ok()) {
    if (inputs.error().code != enrich::ErrorCode::invalid_argument ||
        inputs.error().message.empty())
      fail("rejected inputs must be invalid_argument with a message", inputs.error().message);
    return 0;
  }
  for (const auto& plan : plans()) {
    const auto& impl = *enrich::detail::Access::impl(plan);
    auto bound = enrich::bind_inputs(impl, inputs.value());
    if (!bound.ok()) {
      const auto& e = bound.error();
      if (e.code != enrich::ErrorCode::invalid_argument) fail("bind error code", e.message);
      if (e.message.find("input") == std::string::npos)
        fail("bind error names no input", e.message);
      continue;
    }
    if (bound.value().size() != impl.inputs.size()) fail("bind_inputs() size");
    for (std::size_t k = 0; k < impl.inputs.size(); ++k) {
      const auto& b = bound.value()[k];
      if (b.is_null) continue;
      const auto& spec = impl.inputs[k];
      if (spec.type == enrich::InputType::integer) {
        // The text form of an integer is canonical: what Postgres and a URL both accept.
        char* end = nullptr;
        errno = 0;
        long long v = std::strtoll(b.text.c_str(), &end, 10);
        if (b.text.empty() || *end != '\0' || errno != 0 || std::to_string(v) != b.text)
          fail("integer input not in canonical form", b.text);
      }
      if (spec.type == enrich::InputType::boolean && b.text != "true" && b.text != "false")
        fail("boolean input not true/false", b.text);
      if (spec.type == enrich::InputType::boolean && b.truthy != (b.text == "true"))
        fail("boolean truthiness", b.text);
      check_percent_encoding(b.text);
    }
  }
  return 0;
}

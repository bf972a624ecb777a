// A separate project that finds the installed enrich with find_package and links the shared
// library: the public headers and the exported C++ and C API must be enough.
#include <cstdio>
#include <enrich/enrich.hpp>
#include <string>

#include "enrich.h"

int main() {
  if (enrich::version() != ENRICH_VERSION_HEX || enrich_version() != ENRICH_VERSION_HEX ||
      enrich::version_hex != ENRICH_VERSION_HEX)
    return 1;
  auto plan = enrich::PlanBuilder("p")
                  .input("x", enrich::InputType::integer)
                  .sql("doubled", "SELECT $1::int * 2", {enrich::ValueRef::of_input("x")},
                       enrich::ResultShape::value)
                  .build();
  if (!plan.ok()) return 2;
  std::printf("consumer ok: %s, plan %s\n", enrich::version_string(), plan->name().c_str());
  return 0;
}

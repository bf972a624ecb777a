// The public C++ headers (and enrich.h from C++) compile warning-free under -Wall -Wextra
// -pedantic -Werror in a user's project, including the designated initializers the README shows.
#include <enrich/enrich.hpp>
#include <enrich/json.hpp>

#include "enrich.h"

int enrich_cxx_header_test() {
  enrich::ClientOptions options{.dsn = "postgresql://localhost/db"};
  enrich::QueryOptions query{.timeout = enrich::Milliseconds(100)};
  enrich::HttpRequest request{.url = "http://localhost/"};
  enrich::StepOptions step{.required = true};
  enrich::HttpStepSpec http{.base_url = "http://localhost", .path = "/x"};
  enrich::RunOptions run{.profile = enrich::JsonProfile::node};
  enrich_client_options c_options = ENRICH_CLIENT_OPTIONS_INIT;
  enrich_call_options call = ENRICH_CALL_OPTIONS_INIT;
  enrich_http_request c_request = ENRICH_HTTP_REQUEST_INIT;
  return static_cast<int>(options.dsn.size() + query.timeout.count() + request.url.size() +
                          step.required + http.path.size() + run.profile.has_value() +
                          c_options.version + call.version + c_request.version);
}

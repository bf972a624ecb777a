/* Compiles the public C header as strict C11 (see tests/CMakeLists.txt): a header that needs C++,
   GNU extensions or produces warnings fails the build. */
#include "enrich.h"

int enrich_header_test_uses_init_macros(void);
int enrich_header_test_uses_init_macros(void) {
  enrich_client_options options = ENRICH_CLIENT_OPTIONS_INIT;
  enrich_call_options call = ENRICH_CALL_OPTIONS_INIT;
  enrich_http_request request = ENRICH_HTTP_REQUEST_INIT;
  return (int)options.version + (int)call.version + (int)request.version + ENRICH_VERSION_HEX;
}

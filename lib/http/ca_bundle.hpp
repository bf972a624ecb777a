#pragma once
// Where libcurl finds the CA certificates that verify HTTPS servers when no CA file is set (the
// client's http_ca_file, a plan step's or a request's ca_file).
//
// libcurl looks in the CA bundle path it was built with (Debian's: /etc/ssl/certs/
// ca-certificates.crt). A copy of libcurl that travels inside a wheel or an npm package runs on
// other distributions too, where that file is elsewhere or missing: then the first CA bundle
// found among the well-known places is used instead, after SSL_CERT_FILE (OpenSSL's variable).

#include <span>
#include <string>

namespace enrich::http {

/// The well-known places of a distribution's CA bundle, in the order they are tried.
std::span<const char* const> well_known_ca_bundles() noexcept;

/// The CA file to give libcurl when nothing else is set: empty when libcurl's own default
/// (`builtin_file`, `builtin_dir`; either may be null) exists, else `env_file` (SSL_CERT_FILE)
/// if it names a readable file, else the first readable file of `candidates`, else empty
/// (libcurl's default, which then fails verification with its own message).
std::string pick_ca_file(const char* builtin_file, const char* builtin_dir, const char* env_file,
                         std::span<const char* const> candidates);

/// pick_ca_file() for this process (libcurl's compiled-in paths, SSL_CERT_FILE, the well-known
/// places), worked out once.
const std::string& default_ca_file();

}  // namespace enrich::http

#include "http/ca_bundle.hpp"

#include <curl/curl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdlib>

namespace enrich::http {
namespace {

bool readable_file(const char* path) {
  struct stat st {};
  return path && *path && ::stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
         ::access(path, R_OK) == 0;
}

bool readable_dir(const char* path) {
  struct stat st {};
  return path && *path && ::stat(path, &st) == 0 && S_ISDIR(st.st_mode) &&
         ::access(path, R_OK | X_OK) == 0;
}

constexpr std::array<const char*, 7> kWellKnown{
    "/etc/ssl/certs/ca-certificates.crt",                 // Debian, Ubuntu, Arch, Gentoo, Alpine
    "/etc/pki/tls/certs/ca-bundle.crt",                   // Fedora, RHEL, CentOS, Amazon Linux
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  // RHEL 7 and later
    "/etc/ssl/ca-bundle.pem",                             // openSUSE, SLES
    "/etc/ssl/cert.pem",                                  // Alpine, Void, macOS
    "/etc/pki/tls/cacert.pem",                            // OpenELEC
    "/usr/local/share/certs/ca-root-nss.crt",             // FreeBSD
};

}  // namespace

std::span<const char* const> well_known_ca_bundles() noexcept {
  return kWellKnown;
}

std::string pick_ca_file(const char* builtin_file, const char* builtin_dir, const char* env_file,
                         std::span<const char* const> candidates) {
  if (readable_file(builtin_file) || readable_dir(builtin_dir)) return {};
  if (readable_file(env_file)) return env_file;
  for (const char* candidate : candidates) {
    if (readable_file(candidate)) return candidate;
  }
  return {};
}

const std::string& default_ca_file() {
  static const std::string file = [] {
    const curl_version_info_data* info = curl_version_info(CURLVERSION_NOW);
    return pick_ca_file(info ? info->cainfo : nullptr, info ? info->capath : nullptr,
                        std::getenv("SSL_CERT_FILE"), well_known_ca_bundles());
  }();
  return file;
}

}  // namespace enrich::http

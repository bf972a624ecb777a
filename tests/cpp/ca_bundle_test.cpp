// The CA bundle fallback of the HTTP client (lib/http/ca_bundle.hpp): a libcurl bundled in a
// wheel or npm package keeps its build machine's CA path; where that is missing, the system's
// own bundle is found.
#include "http/ca_bundle.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace {

class TempDir {
 public:
  TempDir() {
    std::string pattern = "/tmp/enrich-ca-XXXXXX";
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const char* name) const {
    std::string p = path_ + "/" + name;
    if (FILE* f = std::fopen(p.c_str(), "w")) {
      std::fputs("-----BEGIN CERTIFICATE-----\n", f);
      std::fclose(f);
    }
    return p;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace

TEST(CaBundle, LibcurlsOwnPathWinsWhenItExists) {
  TempDir dir;
  const std::string builtin = dir.file("builtin.pem"), other = dir.file("other.pem");
  const std::array<const char*, 1> candidates{other.c_str()};
  EXPECT_EQ(enrich::http::pick_ca_file(builtin.c_str(), nullptr, nullptr, candidates), "");
  EXPECT_EQ(enrich::http::pick_ca_file(nullptr, dir.path().c_str(), other.c_str(), candidates), "");
}

TEST(CaBundle, FirstExistingWellKnownPlaceWhenLibcurlsPathIsMissing) {
  TempDir dir;
  const std::string second = dir.file("second.pem"), third = dir.file("third.pem");
  const std::string missing = dir.path() + "/missing.pem";
  const std::array<const char*, 3> candidates{missing.c_str(), second.c_str(), third.c_str()};
  EXPECT_EQ(enrich::http::pick_ca_file(missing.c_str(), "/nonexistent-dir", nullptr, candidates),
            second);
  // A directory is not a bundle.
  const std::array<const char*, 2> dir_first{dir.path().c_str(), third.c_str()};
  EXPECT_EQ(enrich::http::pick_ca_file(nullptr, nullptr, nullptr, dir_first), third);
  EXPECT_EQ(enrich::http::pick_ca_file(nullptr, nullptr, nullptr, {}), "");
}

TEST(CaBundle, SslCertFileBeforeTheWellKnownPlaces) {
  TempDir dir;
  const std::string env = dir.file("env.pem"), known = dir.file("known.pem");
  const std::array<const char*, 1> candidates{known.c_str()};
  EXPECT_EQ(enrich::http::pick_ca_file("/nonexistent.pem", nullptr, env.c_str(), candidates), env);
  EXPECT_EQ(
      enrich::http::pick_ca_file("/nonexistent.pem", nullptr, "/nonexistent-env.pem", candidates),
      known);
}

TEST(CaBundle, ThisSystemHasABundle) {
  // On this machine (Debian, ca-certificates) libcurl's own path exists: nothing is overridden.
  // Elsewhere the answer must be one of the well-known places.
  const std::string& picked = enrich::http::default_ca_file();
  if (!picked.empty()) {
    bool known = false;
    for (const char* place : enrich::http::well_known_ca_bundles()) known |= picked == place;
    EXPECT_TRUE(known ||
                picked == (std::getenv("SSL_CERT_FILE") ? std::getenv("SSL_CERT_FILE") : ""))
        << picked;
  }
  EXPECT_FALSE(enrich::http::well_known_ca_bundles().empty());
}

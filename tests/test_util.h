// Shared helpers for the tests: where fixtures live, reading reference tensors, temp files.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "reference_tensors.h"
#include "vit/app/cli.h"
#include "vit/io/safetensors.h"

namespace vit::test {

inline bool exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

inline std::string fixtures() { return VIT_FIXTURES_DIR; }
inline std::string shared() { return VIT_SHARED_DIR; }
inline std::string skimage(const std::string& name) { return "/usr/lib/python3/dist-packages/skimage/data/" + name; }
inline std::string real_weights() { return shared() + "/models/vit_tiny_patch16_224.safetensors"; }

// A fixture model's config.json (written by tests/reference/vitref.py from its one table of
// fixture sizes); null when the fixtures are missing.
inline nlohmann::json fixture_config(const std::string& model) {
  std::ifstream in(fixtures() + "/" + model + "/config.json");
  if (!in) return nullptr;
  return nlohmann::json::parse(in);
}
// Its head count, for copies of its weights that have no config.json beside them.
inline int fixture_heads(const std::string& model) {
  const auto c = fixture_config(model);
  return c.is_object() ? c["num_heads"].get<int>() : 0;
}

#define VIT_REQUIRE_FILE(path)                                                                             \
  do {                                                                                                     \
    if (!::vit::test::exists(path))                                                                        \
      GTEST_SKIP() << "needs " << (path)                                                                   \
                   << " (reference fixtures come from tests/reference/make_fixtures.py; shared data from " \
                      "../shared/)";                                                                       \
  } while (0)

inline float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float m = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

// One JSON object per line (vit-classify's --format json records), parsed.
inline std::vector<nlohmann::json> json_records(const std::string& text) {
  std::vector<nlohmann::json> r;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) r.push_back(nlohmann::json::parse(line));
  return r;
}

// The lines of s, without their newlines.
inline std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> r;
  std::istringstream in(s);
  std::string l;
  while (std::getline(in, l)) r.push_back(l);
  return r;
}

// A fresh temporary directory, removed with its files at scope exit.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/vit-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace vit::test

namespace vit::test {

// vit-classify run in process: exit status, stdout, stderr.
struct CliRun {
  int code;
  std::string out, err;
};

inline CliRun run_cli_capture(const std::vector<std::string>& args, const std::string& stdin_text = "") {
  std::ostringstream out, err;
  std::istringstream in(stdin_text);
  const int code = ::vit::run_cli(args, out, err, &in);
  return {code, out.str(), err.str()};
}

// Writes a safetensors file from raw entries (name, dtype name, shape, bytes), in order.
struct StEntry {
  std::string name, dtype;
  std::vector<int64_t> shape;
  std::string bytes;
};

inline void write_safetensors(const std::string& path, const std::vector<StEntry>& entries) {
  std::string header = "{", data;
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    std::string shape;
    for (size_t d = 0; d < e.shape.size(); ++d) shape += (d ? "," : "") + std::to_string(e.shape[d]);
    header += (i ? "," : "") + std::string("\"") + e.name + "\":{\"dtype\":\"" + e.dtype + "\",\"shape\":[" + shape +
              "],\"data_offsets\":[" + std::to_string(data.size()) + "," +
              std::to_string(data.size() + e.bytes.size()) + "]}";
    data += e.bytes;
  }
  header += "}";
  while (header.size() % 8) header += ' ';
  std::string len(8, '\0');
  for (int i = 0; i < 8; ++i) len[i] = static_cast<char>((header.size() >> (8 * i)) & 0xFF);
  write_bytes(path, len + header + data);
}

// The entries of an existing file, to modify and write back.
inline std::vector<StEntry> read_entries(const std::string& path) {
  SafetensorsFile f(path);
  std::vector<StEntry> out;
  for (const auto& t : f.tensors())
    out.push_back({t.name, dtype_name(t.dtype), t.shape, std::string(reinterpret_cast<const char*>(t.data), t.nbytes)});
  return out;
}

}  // namespace vit::test

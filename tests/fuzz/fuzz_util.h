// Shared by the fuzz targets (tests/fuzz/fuzz_*.cpp): each reader under test takes a path, so
// every input is written to a scratch file first. The same targets build two ways:
//   - with -DVIT_FUZZ=ON (clang), linked with libFuzzer: scripts/fuzz.sh TARGET SECONDS;
//   - in the normal build, linked with replay_main.cpp: CTest's fuzz_corpora test runs every
//     seed and every crash found so far (tests/fuzz/corpus/TARGET/) as a regression test.
// A target returns normally on vit::Error (a clear refusal is the right answer to a bad
// file); any other exception escapes and is a finding, as are crashes, leaks and hangs.
#pragma once

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace vit::fuzz {

// A folder of its own for this process (in /dev/shm where there is one), removed at exit.
inline const std::string& scratch_dir() {
  static const std::string dir = [] {
    const char* base = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    std::string tmpl = std::string(base) + "/vit-fuzz-XXXXXX";
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("cannot make a scratch folder");
    return tmpl;
  }();
  return dir;
}

// Writes (replaces) scratch_dir()/name with the bytes and returns its path.
inline std::string write_scratch(const std::string& name, const uint8_t* data, size_t size) {
  const std::string path = scratch_dir() + "/" + name;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) throw std::runtime_error("cannot write " + path);
  if (size && std::fwrite(data, 1, size, f) != size) throw std::runtime_error("short write to " + path);
  std::fclose(f);
  return path;
}

inline void remove_scratch(const std::string& name) { std::remove((scratch_dir() + "/" + name).c_str()); }

// Logs would only slow the fuzzer down.
inline void quiet() { spdlog::set_level(spdlog::level::off); }

// Splits an input at the first occurrence of a separator line: the part before and after.
inline std::pair<std::string, std::string> split_input(const uint8_t* data, size_t size, const std::string& sep) {
  const std::string all(reinterpret_cast<const char*>(data), size);
  const size_t at = all.find(sep);
  if (at == std::string::npos) return {all, std::string()};
  return {all.substr(0, at), all.substr(at + sep.size())};
}

}  // namespace vit::fuzz

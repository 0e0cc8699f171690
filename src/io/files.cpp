// File-system helpers; see include/vit/io/files.h.
#include "vit/io/files.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "vit/errors.h"

namespace vit {

std::string base_name(const std::string& path) { return path.substr(path.find_last_of('/') + 1); }

std::string dir_name(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

namespace {
bool stat_mode(const std::string& path, mode_t* mode) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return false;
  *mode = st.st_mode;
  return true;
}
}  // namespace

bool is_directory(const std::string& path) {
  mode_t m = 0;
  return stat_mode(path, &m) && S_ISDIR(m);
}

ReadOnlyFile::ReadOnlyFile(const std::string& path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd_ < 0 || ::fstat(fd_, &st_) != 0) error_ = errno;
}

ReadOnlyFile::~ReadOnlyFile() {
  if (fd_ >= 0) ::close(fd_);
}

bool is_regular_file(const std::string& path) {
  mode_t m = 0;
  return stat_mode(path, &m) && S_ISREG(m);
}

bool path_exists(const std::string& path) {
  mode_t m = 0;
  return stat_mode(path, &m);
}

std::string environment_value(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string home_directory() {
  std::string home = environment_value("HOME");
  if (home.empty()) {
    const passwd* pw = ::getpwuid(::getuid());
    if (pw && pw->pw_dir) home = pw->pw_dir;
  }
  return home;
}

std::string expand_home(const std::string& path) {
  if (path != "~" && path.rfind("~/", 0) != 0) return path;
  const std::string home = home_directory();
  return home.empty() ? "" : home + path.substr(1);
}

void make_dirs(const std::string& dir) {
  for (size_t pos = 1; pos <= dir.size(); ++pos) {
    if (pos != dir.size() && dir[pos] != '/') continue;
    const std::string part = dir.substr(0, pos);
    if (::mkdir(part.c_str(), 0777) != 0 && errno != EEXIST)
      throw OutputError("cannot create folder '" + part + "': " + std::strerror(errno));
  }
  if (!is_directory(dir)) throw OutputError("cannot write into '" + dir + "': it exists and is not a folder");
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  // Unique per call, not only per process: two threads writing the same path at once (two
  // fetches of one model writing its refs/main) must not share a temporary file.
  static std::atomic<unsigned long> calls{0};
  const std::string tmp = dir_name(path) + "/." + base_name(path) + ".tmp-" + std::to_string(::getpid()) + "-" +
                          std::to_string(calls.fetch_add(1));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw OutputError("cannot write '" + tmp + "': " + std::strerror(errno));
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      const int e = errno;
      std::remove(tmp.c_str());
      throw OutputError("writing '" + tmp + "' failed after " + std::to_string(bytes.size()) +
                        " bytes: " + std::strerror(e) + " (disk full?)");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    std::remove(tmp.c_str());
    throw OutputError("cannot rename '" + tmp + "' to '" + path + "': " + std::strerror(e));
  }
}

}  // namespace vit

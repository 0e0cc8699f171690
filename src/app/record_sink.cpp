// Record output; see include/vit/app/record_sink.h.
#include "vit/app/record_sink.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ostream>

#include "vit/errors.h"

namespace vit {

RecordSink::RecordSink(std::ostream& out, const std::string& path, bool append) : out_(out), path_(path) {
  if (path.empty() || path == "-") return;
  // Opened without O_TRUNC: the file is emptied only once its lock is ours, so that a second
  // run (--force) cannot wipe the records of the run that holds it.
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : 0), 0644);
  if (fd_ < 0) throw OutputError("cannot write '" + path + "': " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd_);
    fd_ = -1;
    throw UsageError("'" + path + "' is being written by another vit-classify run (it holds the file's lock); " +
                     "wait for that run, or write to another -o file");
  }
  struct stat st {};
  if (!append && ::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode) && ::ftruncate(fd_, 0) != 0) {
    const int e = errno;
    ::close(fd_);
    fd_ = -1;
    throw OutputError("cannot empty '" + path + "' to replace it: " + std::strerror(e));
  }
}

RecordSink::~RecordSink() {
  if (fd_ >= 0) ::close(fd_);
}

bool RecordSink::empty_file() const {
  struct stat st {};
  return fd_ >= 0 && ::fstat(fd_, &st) == 0 && st.st_size == 0;
}

void RecordSink::write(const std::string& bytes) {
  if (bytes.empty()) return;
  if (fd_ < 0) {
    out_.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out_.flush();
    if (!out_)
      throw OutputError(errno == EPIPE ? "cannot write results to standard output: its reader closed it"
                                       : "cannot write results to standard output (closed, or the disk is full?)");
    return;
  }
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw OutputError("cannot write results to '" + path_ + "': " + std::strerror(errno));
    done += static_cast<size_t>(n);
  }
}

}  // namespace vit

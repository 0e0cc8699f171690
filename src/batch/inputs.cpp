// Input enumeration; see include/vit/batch/inputs.h.
#include "vit/batch/inputs.h"

#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <optional>

#include "vit/errors.h"
#include "vit/io/text.h"
#include "vit/io/walk.h"

namespace vit {

const std::vector<std::string>& default_extensions() {
  static const std::vector<std::string> exts{"jpg",  "jpeg", "jpe", "png", "bmp", "dib", "webp", "tif",
                                             "tiff", "pbm",  "pgm", "ppm", "pxm", "pnm", "pam",  "pfm",
                                             "sr",   "ras",  "jp2", "j2k", "jpc", "exr", "hdr",  "pic"};
  return exts;
}

namespace {

bool has_extension(const std::string& name, const std::vector<std::string>& exts) {
  const auto dot = name.find_last_of('.');
  if (dot == std::string::npos || dot == 0) return false;
  const std::string e = ascii_lower(name.substr(dot + 1));
  return std::find(exts.begin(), exts.end(), e) != exts.end();
}

// --files-from's entries from a file descriptor, read in blocks. A FIFO, pipe or terminal is
// polled, so that the stop flag ends a wait for lines that may never come (a list still open).
class ListReader {
 public:
  ListReader(int fd, bool owned, char separator, std::string name)
      : fd_(fd), owned_(owned), separator_(separator), name_(std::move(name)) {}
  ~ListReader() {
    if (owned_) ::close(fd_);
  }
  ListReader(const ListReader&) = delete;
  ListReader& operator=(const ListReader&) = delete;

  // The next entry (without its separator); false at the end, or once *stop is set while
  // waiting for more (then stopped() is true).
  bool next(std::string& entry, const std::atomic<bool>* stop) {
    while (true) {
      const size_t end = buffer_.find(separator_, start_);
      if (end != std::string::npos) {
        entry.assign(buffer_, start_, end - start_);
        start_ = end + 1;
        return true;
      }
      if (buffer_.size() - start_ > kMaxEntryBytes)
        throw UsageError("--files-from: '" + name_ + "' has an entry longer than " +
                         std::to_string(kMaxEntryBytes >> 10) + " KiB: not a list of paths?");
      if (eof_) {
        if (start_ == buffer_.size()) return false;
        entry.assign(buffer_, start_, std::string::npos);
        start_ = buffer_.size();
        return true;
      }
      if (stop && stop->load()) {
        stopped_ = true;
        return false;
      }
      buffer_.erase(0, start_);
      start_ = 0;
      fill();
    }
  }
  bool stopped() const { return stopped_; }

 private:
  static constexpr size_t kMaxEntryBytes = 64 << 10;  // far over PATH_MAX (4096)

  // Reads what is there, after waiting at most 100 ms for it.
  void fill() {
    pollfd p{fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, 100);
    if (ready < 0 && errno != EINTR)
      throw UsageError("--files-from: cannot read '" + name_ + "': " + std::strerror(errno));
    if (ready <= 0) return;
    char chunk[1 << 16];
    const ssize_t n = ::read(fd_, chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) return;
      throw UsageError("--files-from: cannot read '" + name_ + "': " + std::strerror(errno));
    }
    if (n == 0)
      eof_ = true;
    else
      buffer_.append(chunk, static_cast<size_t>(n));
  }

  int fd_;
  bool owned_;
  char separator_;
  std::string name_;
  std::string buffer_;
  size_t start_ = 0;
  bool eof_ = false, stopped_ = false;
};

}  // namespace

struct InputStream::Impl {
  InputOptions opt;
  std::istream* stdin_stream = nullptr;
  size_t arg_index = 0;
  std::unique_ptr<ListReader> list_reader;  // a file, or standard input (fd 0)
  std::istream* list_stream = nullptr;      // standard input handed in as a stream (tests)
  const std::atomic<bool>* stop = nullptr;
  std::optional<FolderWalk> walk;  // the folders being walked (-r), in name order
  uint64_t counter = 0;            // every input, for sharding
  size_t skipped_by_extension = 0;

  // Next raw entry before sharding.
  bool next_raw(InputItem& item) {
    while (true) {
      FolderWalk::Entry entry;
      if (walk && walk->next(&entry)) {
        if (item_of(entry, item)) return true;
        continue;
      }
      std::string path;
      if (arg_index < opt.paths.size()) {
        path = opt.paths[arg_index++];
      } else if (!opt.files_from.empty()) {
        if (!list_reader && !list_stream) open_list();
        if (!next_entry(path)) return false;
        if (!opt.null_separated && !path.empty() && path.back() == '\r') path.pop_back();
        if (path.empty()) continue;
      } else {
        return false;
      }
      struct stat st {};
      if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
        if (!opt.recursive) {
          item = {path, "'" + path + "' is a directory (use -r to classify the images in it)"};
          return true;
        }
        if (!walk) walk.emplace(FolderWalk::Options{opt.hidden, FolderWalk::Links::kFollow});
        walk->enter(path, st);
        continue;
      }
      item = {path, ""};  // missing files get their error when decoded
      return true;
    }
  }

  char separator() const { return opt.null_separated ? '\0' : '\n'; }

  bool next_entry(std::string& path) {
    if (list_reader) return list_reader->next(path, stop);
    return static_cast<bool>(std::getline(*list_stream, path, separator()));
  }

  // Opens the list: list_reader or list_stream is set once it is open, neither if this throws.
  void open_list() {
    if (opt.files_from == "-") {
      // The process's own standard input is read from its descriptor (polled, see ListReader);
      // any other stream (a test's) as a stream.
      if (stdin_stream == &std::cin)
        list_reader = std::make_unique<ListReader>(STDIN_FILENO, false, separator(), "standard input");
      else
        list_stream = stdin_stream;
      return;
    }
    // O_NONBLOCK: opening a FIFO does not wait for its writer (ListReader polls for the lines).
    const int fd = ::open(opt.files_from.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) throw UsageError("--files-from: cannot read '" + opt.files_from + "': " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
      ::close(fd);
      throw UsageError("--files-from: '" + opt.files_from + "' is a directory, not a list of paths (use -r DIR)");
    }
    list_reader = std::make_unique<ListReader>(fd, true, separator(), opt.files_from);
  }

  // The input a walked entry is, if any (folders are walked into by FolderWalk).
  bool item_of(const FolderWalk::Entry& e, InputItem& item) {
    const std::string& path = e.path;
    if (e.error) {
      // A dangling symlink (or a file removed since the listing) that is not an image is no
      // input; anything else that cannot be looked at gets its record.
      if (e.error == ENOENT && !has_extension(path, opt.extensions)) return false;
      item = {path, e.error == ENOENT ? "" : "cannot read '" + path + "': " + std::strerror(e.error)};
      return true;
    }
    if (!S_ISREG(e.st.st_mode)) {  // FIFO, socket, device: never opened (a FIFO would block)
      if (has_extension(path, opt.extensions)) {
        item = {path, "'" + path + "' is not a regular file (a FIFO, socket or device); skipped unread"};
        return true;
      }
      spdlog::info("skipping '{}': not a regular file", path);
      return false;
    }
    if (!has_extension(path, opt.extensions)) {
      ++skipped_by_extension;
      return false;
    }
    item = {path, ""};
    return true;
  }
};

InputStream::InputStream(const InputOptions& options, std::istream* stdin_stream) : impl_(std::make_unique<Impl>()) {
  impl_->opt = options;
  if (impl_->opt.extensions.empty()) impl_->opt.extensions = default_extensions();
  impl_->stdin_stream = stdin_stream;
  if (options.files_from == "-" && !stdin_stream) throw UsageError("--files-from -: no standard input");
}

InputStream::~InputStream() = default;

bool InputStream::next(InputItem& item) {
  while (impl_->next_raw(item)) {
    const uint64_t i = impl_->counter++;
    if (static_cast<int>(i % static_cast<uint64_t>(impl_->opt.shard.count)) == impl_->opt.shard.index) return true;
  }
  return false;
}

void InputStream::set_stop(const std::atomic<bool>* stop) { impl_->stop = stop; }

bool InputStream::stopped() const { return impl_->list_reader && impl_->list_reader->stopped(); }

bool InputStream::total_known() const {
  if (!impl_->opt.files_from.empty()) return false;
  for (const auto& p : impl_->opt.paths) {
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return false;
  }
  return true;
}

size_t InputStream::known_total() const {
  const size_t n = impl_->opt.paths.size();
  const size_t k = static_cast<size_t>(impl_->opt.shard.count), s = static_cast<size_t>(impl_->opt.shard.index);
  return n / k + (s < n % k ? 1 : 0);
}

size_t InputStream::skipped_by_extension() const { return impl_->skipped_by_extension; }

}  // namespace vit

// Where classify's records go: standard output, or -o FILE (appended to with --resume).
// Each batch is one write(2), so a killed run never leaves half a record behind.
#pragma once

#include <iosfwd>
#include <string>

namespace vit {

class RecordSink {
 public:
  // path "" or "-": out. A file is locked (flock) while the sink lives, so that two runs never
  // write one file. Throws OutputError when it cannot be opened, UsageError when it is locked.
  RecordSink(std::ostream& out, const std::string& path, bool append);
  ~RecordSink();
  RecordSink(const RecordSink&) = delete;
  RecordSink& operator=(const RecordSink&) = delete;

  bool empty_file() const;               // -o names a file that holds nothing yet
  void write(const std::string& bytes);  // throws OutputError

 private:
  std::ostream& out_;
  std::string path_;
  int fd_ = -1;
};

}  // namespace vit

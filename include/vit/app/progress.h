// classify's progress bar on stderr: "[=====>     ] 4,210/9,876  41.3 img/s  ETA 2m17s",
// or "4,210 images  41.3 img/s" when the total is not known; redrawn at most 5 times a second.
#pragma once

#include <chrono>
#include <cstddef>
#include <iosfwd>
#include <string>

#include "vit/batch/pipeline.h"

namespace vit {

class ProgressBar {
 public:
  ProgressBar(std::ostream& err, bool enabled, size_t total);  // total 0: unknown
  void update(const ClassifySummary& s, bool final = false);

 private:
  std::ostream& err_;
  bool enabled_;
  size_t total_;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace vit

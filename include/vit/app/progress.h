// classify's progress on stderr. On a terminal one line redrawn at most 5 times a second:
// "[=====>     ] 4,210/9,876  43%  41.3 images/s  ETA 2m17s"; into a file (--progress), a plain
// line every few seconds: "vit-classify: progress 4,210/9,876 (43%), 41.3 images/s, ETA 2m17s".
// The total comes from an InputCounter walking the inputs ahead of the work; until it is
// known, the count alone is shown.
#pragma once

#include <atomic>
#include <cstddef>
#include <iosfwd>
#include <optional>
#include <string>
#include <thread>

#include "vit/batch/inputs.h"
#include "vit/batch/pipeline.h"
#include "vit/io/progress_line.h"

namespace vit {

// Counts the inputs in a background thread (a second walk of the same folders and lists);
// inputs that cannot be read twice (standard input) leave the total unknown.
class InputCounter {
 public:
  explicit InputCounter(const InputOptions& options);
  ~InputCounter();  // stops the walk
  InputCounter(const InputCounter&) = delete;
  InputCounter& operator=(const InputCounter&) = delete;
  std::optional<size_t> total() const;

 private:
  std::atomic<bool> stop_{false}, done_{false};
  std::atomic<size_t> count_{0};
  std::thread thread_;
};

// The figures of a run, drawn on a ProgressLine (vit/io/progress_line.h).
class ProgressBar {
 public:
  using Style = ProgressLine::Style;
  ProgressBar(std::ostream& err, Style style, const InputCounter* counter);
  void update(const ClassifySummary& s, bool final = false);

 private:
  std::string figures(const ClassifySummary& s, size_t total, bool terminal) const;
  ProgressLine line_;
  const InputCounter* counter_;
};

}  // namespace vit

// Progress; see include/vit/app/progress.h.
#include "vit/app/progress.h"

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <ostream>
#include <sstream>

namespace vit {

namespace {

std::string group(size_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

std::string duration(double sec) {
  const long t = static_cast<long>(sec + 0.5);
  return t >= 3600 ? fmt::format("{}h{:02}m", t / 3600, (t / 60) % 60) : fmt::format("{}m{:02}s", t / 60, t % 60);
}

}  // namespace

InputCounter::InputCounter(const InputOptions& options) {
  // Standard input, a FIFO or a pipe can be read once (by the run): the total stays unknown.
  struct stat st {};
  if (options.files_from == "-" ||
      (!options.files_from.empty() && (::stat(options.files_from.c_str(), &st) != 0 || !S_ISREG(st.st_mode))))
    return;
  thread_ = std::thread([this, options] {
    try {
      InputStream inputs(options);
      inputs.set_stop(&stop_);
      InputItem item;
      while (!stop_ && inputs.next(item)) ++count_;
      done_ = !stop_;
    } catch (const std::exception& e) {
      spdlog::debug("counting the inputs ahead stopped: {}", e.what());  // the run itself reports it
    }
  });
}

InputCounter::~InputCounter() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

std::optional<size_t> InputCounter::total() const {
  if (!done_) return std::nullopt;
  return count_.load();
}

ProgressBar::ProgressBar(std::ostream& err, Style style, const InputCounter* counter)
    : line_(err, style, std::chrono::milliseconds(style == Style::Terminal ? 200 : 5000), "vit-classify: progress "),
      counter_(counter) {}

std::string ProgressBar::figures(const ClassifySummary& s, size_t total, bool terminal) const {
  const size_t done = s.images + s.skipped;
  const double rate = s.seconds > 0 ? static_cast<double>(s.images) / s.seconds : 0;
  std::ostringstream line;
  if (total > 0) {
    const size_t width = 20, filled = std::min(width, done * width / total);
    if (terminal)
      line << '[' << std::string(filled, '=') << (filled < width ? ">" : "")
           << std::string(width - filled - (filled < width), ' ') << "] ";
    line << group(done) << '/' << group(total) << (terminal ? "  " : " (") << std::min<size_t>(100, done * 100 / total)
         << '%' << (terminal ? "" : ")");
  } else {
    line << group(done) << (done == 1 ? " input" : " inputs");
  }
  line << fmt::format("{}{:.1f} images/s", terminal ? "  " : ", ", rate);
  if (total > done && rate > 0)
    line << (terminal ? "  ETA " : ", ETA ") << duration(static_cast<double>(total - done) / rate);
  if (s.failed) line << (terminal ? "  " : ", ") << s.failed << " failed";
  return line.str();
}

void ProgressBar::update(const ClassifySummary& s, bool final) {
  if (!line_.due(final)) return;
  std::optional<size_t> total = counter_ ? counter_->total() : std::nullopt;
  if (final && !s.interrupted) total = s.images + s.skipped;  // the walk may still be going: the end is the total
  line_.draw(figures(s, total.value_or(0), line_.style() == Style::Terminal), final);
}

}  // namespace vit

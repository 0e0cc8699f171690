// Progress bar; see include/vit/app/progress.h.
#include "vit/app/progress.h"

#include <algorithm>
#include <cstdio>
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
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  return buf;
}

}  // namespace

ProgressBar::ProgressBar(std::ostream& err, bool enabled, size_t total) : err_(err), enabled_(enabled), total_(total) {}

void ProgressBar::update(const ClassifySummary& s, bool final) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!final && now - last_ < std::chrono::milliseconds(200)) return;
  last_ = now;
  const double rate = s.seconds > 0 ? s.images / s.seconds : 0;
  std::ostringstream line;
  line << '\r';
  if (total_ > 0) {
    const size_t width = 20, filled = std::min(width, s.images * width / total_);
    line << '[' << std::string(filled, '=') << (filled < width ? ">" : "")
         << std::string(width - filled - (filled < width), ' ') << "] " << group(s.images) << '/' << group(total_);
  } else {
    line << group(s.images) << " images";
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "  %.1f img/s", rate);
  line << buf;
  if (total_ > s.images && rate > 0) line << "  ETA " << duration(static_cast<double>(total_ - s.images) / rate);
  if (s.failed) line << "  " << s.failed << " failed";
  line << "\x1b[K";
  if (final) line << '\n';
  err_ << line.str() << std::flush;
}

}  // namespace vit

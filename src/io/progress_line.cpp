// A status line on stderr; see include/vit/io/progress_line.h.
#include "vit/io/progress_line.h"

#include <ostream>

namespace vit {

ProgressLine::ProgressLine(std::ostream& err, Style style, std::chrono::milliseconds every, std::string lines_prefix)
    : err_(err), style_(style), every_(every), lines_prefix_(std::move(lines_prefix)) {}

bool ProgressLine::due(bool final) {
  if (style_ == Style::Off) return false;
  const auto now = std::chrono::steady_clock::now();
  if (!final && now - last_ < every_) return false;
  last_ = now;
  return true;
}

void ProgressLine::draw(const std::string& text, bool final) {
  if (style_ == Style::Terminal)
    err_ << '\r' << text << "\x1b[K" << (final ? "\n" : "") << std::flush;
  else if (style_ == Style::Lines)
    err_ << lines_prefix_ << text << '\n' << std::flush;
}

}  // namespace vit

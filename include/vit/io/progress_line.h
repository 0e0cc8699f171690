// One status line on stderr, shared by the two progress displays (classify's images, the hub's
// downloads): on a terminal redrawn in place ("\r", the text, erase to the end of the line),
// elsewhere one plain line per update; drawn at most once per interval, except the last.
#pragma once

#include <chrono>
#include <iosfwd>
#include <string>

namespace vit {

class ProgressLine {
 public:
  enum class Style { Off, Terminal, Lines };
  // lines_prefix goes before each plain line ("vit-classify: progress ").
  ProgressLine(std::ostream& err, Style style, std::chrono::milliseconds every, std::string lines_prefix = "");
  Style style() const { return style_; }
  // Whether an update is due now: always when final, else once `every` has passed since the
  // last drawing. Off is never due.
  bool due(bool final = false);
  // Draws text; final ends a terminal's line with a newline.
  void draw(const std::string& text, bool final = false);

 private:
  std::ostream& err_;
  Style style_;
  std::chrono::milliseconds every_;
  std::string lines_prefix_;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace vit

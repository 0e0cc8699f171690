// Labelled sets and accuracy; see include/vit/batch/evaluation.h.
#include "vit/batch/evaluation.h"

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "vit/batch/csv_rows.h"
#include "vit/errors.h"
#include "vit/io/files.h"
#include "vit/io/text.h"
#include "vit/io/walk.h"

namespace vit {

namespace {

std::vector<std::string> subfolders(const std::string& dir) {
  int error = 0;
  const std::vector<std::string> all = list_folder(dir, false, &error);
  if (error) throw UsageError("cannot read the folder '" + dir + "'");
  std::vector<std::string> names;
  for (const auto& name : all)
    if (is_directory(join_path(dir, name))) names.push_back(name);
  if (const size_t loose = all.size() - names.size())
    spdlog::warn("{} file(s) directly in '{}' are left out: an ImageFolder's images are in class folders", loose, dir);
  return names;
}

// At most this many bad rows of a list are listed in its error (a list labelled for another
// model has one on every row); the rest are counted.
constexpr size_t kMostBadRowsListed = 20;

bool is_header(const std::vector<std::string>& row) {
  static const std::set<std::string> names{"file", "filename", "path", "image", "image_path", "img"};
  return names.count(normalise_label(row[0])) > 0;
}

}  // namespace

LabelledSet LabelledSet::read(const std::string& path, const Labels& labels) {
  LabelledSet set;
  const ClassMatcher classes(labels);
  if (is_directory(path)) {
    set.root_ = path.back() == '/' ? path : path + "/";
    for (const auto& name : subfolders(path))
      set.folders_[name] = classes.match(name, "class folder '" + set.root_ + name + "'");
    if (set.folders_.empty())
      throw UsageError("'" + path +
                       "' has no class folders: an ImageFolder holds one subfolder per class (named by "
                       "WordNet id, class index or label) with that class's images");
    set.description_ = path + " (ImageFolder, " + std::to_string(set.folders_.size()) + " classes)";
    return set;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError("cannot read '" + path + "': expected an ImageFolder directory or a .csv/.tsv list");
  const bool tsv = ends_with(ascii_lower(path), ".tsv");
  const std::string base = dir_name(path);
  // Every bad row is reported at once, so that a list with ten typos takes one run to fix.
  std::vector<std::string> bad;
  bool unknown = false;  // a name that matches no class: the message says what names one
  for (const CsvRow& row : read_csv_rows(in, tsv ? '\t' : ',', path)) {
    const std::string where = path + ":" + std::to_string(row.line);
    if (set.order_.empty() && bad.empty() && is_header(row.fields)) continue;
    if (row.fields.size() < 2 || row.fields[0].empty()) {
      bad.push_back(where + ": expected 'file" + std::string(tsv ? "<TAB>" : ",") + "label', got '" +
                    clipped(row.text) + "'");
      continue;
    }
    std::string problem;
    const int cls = classes.find(row.fields[1], where, &problem);
    if (cls < 0) {
      unknown = unknown || cls == ClassMatcher::kNoSuchClass;
      if (cls == ClassMatcher::kNoSuchClass && bad.size() < kMostBadRowsListed)
        problem += classes.did_you_mean(row.fields[1]);
      bad.push_back(problem);
      continue;
    }
    const std::string& name = row.fields[0];
    const std::string file = name[0] == '/' ? name : base + "/" + name;
    if (!set.files_.emplace(file, cls).second) {
      bad.push_back(where + ": '" + clipped(name) + "' is listed twice");
      continue;
    }
    set.order_.push_back(file);
  }
  const std::string expected = unknown ? classes.expected_names() : "";
  if (bad.size() == 1) throw UsageError(bad.front() + expected);
  if (!bad.empty()) {
    std::string listed;
    for (size_t i = 0; i < std::min(bad.size(), kMostBadRowsListed); ++i) listed += "\n  " + bad[i];
    if (bad.size() > kMostBadRowsListed)
      listed += "\n  ... and " + std::to_string(bad.size() - kMostBadRowsListed) + " more";
    throw UsageError("'" + path + "' has " + std::to_string(bad.size()) + " bad rows:" + listed +
                     (unknown ? "\n(" + expected.substr(2) + ")" : ""));
  }
  if (set.order_.empty()) throw UsageError("'" + path + "' lists no images (rows of file,label)");
  set.description_ = path + " (" + std::to_string(set.order_.size()) + " listed images)";
  return set;
}

InputOptions LabelledSet::inputs() const {
  InputOptions io;
  io.extensions = default_extensions();
  if (root_.empty()) {
    io.paths = order_;
    return io;
  }
  for (const auto& [name, cls] : folders_) io.paths.push_back(root_ + name);
  io.recursive = true;
  return io;
}

int LabelledSet::class_of(const std::string& file) const {
  if (root_.empty()) {
    const auto it = files_.find(file);
    return it == files_.end() ? -1 : it->second;
  }
  if (file.compare(0, root_.size(), root_) != 0) return -1;
  const std::string rest = file.substr(root_.size());
  const auto it = folders_.find(rest.substr(0, rest.find('/')));
  return it == folders_.end() ? -1 : it->second;
}

Proportion wilson_interval(size_t hits, size_t total) {
  Proportion p;
  p.hits = hits;
  p.total = total;
  if (total == 0) return p;
  const double z = 1.959963984540054, n = static_cast<double>(total), phat = static_cast<double>(hits) / n;
  const double denom = 1 + z * z / n;
  const double centre = (phat + z * z / (2 * n)) / denom;
  const double half = z * std::sqrt(phat * (1 - phat) / n + z * z / (4 * n * n)) / denom;
  p.value = phat;
  p.low = std::max(0.0, centre - half);
  p.high = std::min(1.0, centre + half);
  return p;
}

void EvalTally::add(int truth, const std::vector<int>& ranked) {
  ++images_;
  width_ = std::min<int>(k_, static_cast<int>(ranked.size()));
  ClassScore& c = classes_[truth];
  c.index = truth;
  ++c.images;
  if (!ranked.empty() && ranked.front() == truth) {
    ++top1_;
    ++c.top1;
  } else if (!ranked.empty()) {
    ++confusions_[{truth, ranked.front()}];
  }
  const auto end = ranked.begin() + std::min<size_t>(static_cast<size_t>(k_), ranked.size());
  if (std::find(ranked.begin(), end, truth) != end) ++top5_;
}

EvalReport EvalTally::report(size_t worst, size_t confusions) const {
  EvalReport r;
  r.images = images_;
  r.failed = failed_;
  r.top1 = wilson_interval(top1_, images_);
  r.top5 = wilson_interval(top5_, images_);
  r.top5_width = width_;
  for (const auto& [index, score] : classes_)
    if (score.top1 < score.images) r.worst.push_back(score);  // a class without a miss is not among the worst
  std::stable_sort(r.worst.begin(), r.worst.end(), [](const ClassScore& a, const ClassScore& b) {
    // a.top1/a.images < b.top1/b.images, in integers; then the class with more images
    const size_t lhs = a.top1 * b.images, rhs = b.top1 * a.images;
    return lhs != rhs ? lhs < rhs : a.images > b.images;
  });
  if (r.worst.size() > worst) r.worst.resize(worst);
  for (const auto& [pair, count] : confusions_) r.confusions.push_back({pair.first, pair.second, count});
  std::stable_sort(r.confusions.begin(), r.confusions.end(),
                   [](const Confusion& a, const Confusion& b) { return a.count > b.count; });
  if (r.confusions.size() > confusions) r.confusions.resize(confusions);
  return r;
}

namespace {

std::string percent(const Proportion& p) {
  return fmt::format("{:.2f}% ({}/{}), 95% CI {:.1f}%-{:.1f}%", 100 * p.value, p.hits, p.total, 100 * p.low,
                     100 * p.high);
}

std::string class_name(const Labels& labels, int i) {
  const std::string wnid = static_cast<size_t>(i) < labels.size() ? labels.at(static_cast<size_t>(i)).wnid : "";
  return std::to_string(i) + " " + (wnid.empty() ? "" : wnid + " ") + labels.name(static_cast<size_t>(i));
}

nlohmann::ordered_json proportion_json(const Proportion& p) {
  return {{"accuracy", p.value}, {"correct", p.hits}, {"total", p.total}, {"ci95", {p.low, p.high}}};
}

}  // namespace

std::string render_eval_text(const EvalReport& r, const Labels& labels, const std::string& dataset) {
  std::ostringstream out;
  out << "dataset: " << dataset << "\n"
      << "images:  " << r.images << " classified"
      << (r.failed ? ", " + std::to_string(r.failed) + " unreadable (not counted)" : "") << "\n"
      << "top-1:   " << percent(r.top1) << "\n"
      << "top-" << r.top5_width << ":   " << percent(r.top5) << "\n";
  out << fmt::format("speed:   {:.2f} images/s ({:.1f} s)\n", r.images_per_second, r.seconds);
  if (!r.worst.empty()) out << "worst classes (top-1 correct / images):\n";
  for (const auto& c : r.worst) out << "  " << c.top1 << "/" << c.images << "  " << class_name(labels, c.index) << "\n";
  if (!r.confusions.empty()) out << "most frequent confusions (true -> predicted):\n";
  for (const auto& c : r.confusions)
    out << "  " << c.count << " x  " << class_name(labels, c.truth) << " -> " << class_name(labels, c.predicted)
        << "\n";
  return out.str();
}

nlohmann::ordered_json eval_json(const EvalReport& r, const Labels& labels, const std::string& dataset) {
  nlohmann::ordered_json j;
  j["dataset"] = dataset;
  j["images"] = r.images;
  j["unreadable"] = r.failed;
  j["top1"] = proportion_json(r.top1);
  j["top5"] = proportion_json(r.top5);
  j["top5"]["k"] = r.top5_width;
  j["seconds"] = r.seconds;
  j["images_per_second"] = r.images_per_second;
  auto worst = nlohmann::ordered_json::array();
  for (const auto& c : r.worst)
    worst.push_back({{"index", c.index},
                     {"label", labels.name(static_cast<size_t>(c.index))},
                     {"images", c.images},
                     {"top1_correct", c.top1}});
  j["worst_classes"] = worst;
  auto confusions = nlohmann::ordered_json::array();
  for (const auto& c : r.confusions)
    confusions.push_back({{"true_index", c.truth},
                          {"true_label", labels.name(static_cast<size_t>(c.truth))},
                          {"predicted_index", c.predicted},
                          {"predicted_label", labels.name(static_cast<size_t>(c.predicted))},
                          {"count", c.count}});
  j["confusions"] = confusions;
  return j;
}

}  // namespace vit

// Labelled sets and accuracy; see include/vit/batch/evaluation.h.
#include "vit/batch/evaluation.h"

#include <dirent.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "vit/errors.h"
#include "vit/io/files.h"

namespace vit {

namespace {

std::string normalise(const std::string& s) {
  std::string r;
  for (unsigned char c : s) r += c == '_' ? ' ' : static_cast<char>(std::tolower(c));
  const auto b = r.find_first_not_of(' '), e = r.find_last_not_of(' ');
  return b == std::string::npos ? "" : r.substr(b, e - b + 1);
}

bool all_digits(const std::string& s) {
  return !s.empty() && s.size() < 10 &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// Every class whose full label or one of its comma-separated names is `name`.
std::vector<int> classes_named(const std::string& name, const Labels& labels) {
  std::vector<int> exact, partial;
  for (size_t i = 0; i < labels.size(); ++i) {
    const std::string full = labels.at(i).name;
    if (normalise(full) == name) exact.push_back(static_cast<int>(i));
    std::stringstream parts(full);
    for (std::string part; std::getline(parts, part, ',');)
      if (normalise(part) == name) {
        partial.push_back(static_cast<int>(i));
        break;
      }
  }
  return exact.empty() ? partial : exact;
}

std::string quoted_label(const Labels& labels, int i) {
  return std::to_string(i) + " '" + labels.at(static_cast<size_t>(i)).name + "'";
}

}  // namespace

int match_class(const std::string& name, const Labels& labels, const std::string& where) {
  if (all_digits(name)) {
    const long i = std::stol(name);
    if (i < static_cast<long>(labels.size())) return static_cast<int>(i);
    throw UsageError(where + ": class index " + name + " is out of range: the model has " +
                     std::to_string(labels.size()) + " classes (0 to " + std::to_string(labels.size() - 1) + ")");
  }
  for (size_t i = 0; i < labels.size(); ++i)
    if (!labels.at(i).wnid.empty() && labels.at(i).wnid == name) return static_cast<int>(i);
  const std::vector<int> named = classes_named(normalise(name), labels);
  if (named.size() == 1) return named.front();
  if (named.size() > 1) {
    std::string which;
    for (int i : named) which += (which.empty() ? "" : ", ") + quoted_label(labels, i);
    throw UsageError(where + ": '" + name + "' names several classes (" + which +
                     "): use the class index or WordNet id instead");
  }
  throw UsageError(where + ": '" + name + "' names no class of the model: expected a WordNet id (such as " +
                   (labels.size() && !labels.at(0).wnid.empty() ? labels.at(0).wnid : std::string("n01440764")) +
                   "), a class index from 0 to " + std::to_string(labels.size() - 1) + ", or a label (such as '" +
                   (labels.size() ? labels.at(0).name : std::string("tench")) + "')");
}

namespace {

std::vector<std::string> subfolders(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (!d) throw UsageError("cannot read the folder '" + dir + "'");
  size_t loose = 0;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name[0] == '.') continue;
    if (is_directory(dir + "/" + name))
      names.push_back(name);
    else
      ++loose;
  }
  ::closedir(d);
  if (loose)
    spdlog::warn("{} file(s) directly in '{}' are left out: an ImageFolder's images are in class folders", loose, dir);
  std::sort(names.begin(), names.end());
  return names;
}

// One row of a CSV (RFC 4180 quotes) or TSV line.
std::vector<std::string> split_row(const std::string& line, char sep) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (sep == ',' && c == '"') {
      if (quoted && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else {
        quoted = !quoted;
      }
    } else if (c == sep && !quoted) {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  return fields;
}

bool is_header(const std::vector<std::string>& row) {
  static const std::set<std::string> names{"file", "filename", "path", "image", "image_path", "img"};
  return names.count(normalise(row[0])) > 0;
}

}  // namespace

LabelledSet LabelledSet::read(const std::string& path, const Labels& labels) {
  LabelledSet set;
  if (is_directory(path)) {
    set.root_ = path.back() == '/' ? path : path + "/";
    for (const auto& name : subfolders(path))
      set.folders_[name] = match_class(name, labels, "class folder '" + set.root_ + name + "'");
    if (set.folders_.empty())
      throw UsageError("'" + path +
                       "' has no class folders: an ImageFolder holds one subfolder per class (named by "
                       "WordNet id, class index or label) with that class's images");
    set.description_ = path + " (ImageFolder, " + std::to_string(set.folders_.size()) + " classes)";
    return set;
  }
  std::ifstream in(path);
  if (!in) throw UsageError("cannot read '" + path + "': expected an ImageFolder directory or a .csv/.tsv list");
  const bool tsv = path.size() > 4 && normalise(path.substr(path.size() - 4)) == ".tsv";
  const std::string base = dir_name(path);
  size_t line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const auto row = split_row(line, tsv ? '\t' : ',');
    const std::string where = path + ":" + std::to_string(line_no);
    if (set.order_.empty() && is_header(row)) continue;
    if (row.size() < 2 || row[0].empty())
      throw UsageError(where + ": expected 'file" + std::string(tsv ? "<TAB>" : ",") + "label', got '" + line + "'");
    const std::string file = row[0][0] == '/' ? row[0] : base + "/" + row[0];
    if (!set.files_.emplace(file, match_class(row[1], labels, where)).second)
      throw UsageError(where + ": '" + row[0] + "' is listed twice");
    set.order_.push_back(file);
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
  width_ = std::min<int>(5, static_cast<int>(ranked.size()));
  ClassScore& c = classes_[truth];
  c.index = truth;
  ++c.images;
  if (!ranked.empty() && ranked.front() == truth) {
    ++top1_;
    ++c.top1;
  } else if (!ranked.empty()) {
    ++confusions_[{truth, ranked.front()}];
  }
  const auto end = ranked.begin() + std::min<size_t>(5, ranked.size());
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
  char buf[128];
  std::snprintf(buf, sizeof buf, "%.2f%% (%zu/%zu), 95%% CI %.1f%%-%.1f%%", 100 * p.value, p.hits, p.total, 100 * p.low,
                100 * p.high);
  return buf;
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
  char speed[96];
  std::snprintf(speed, sizeof speed, "speed:   %.2f images/s (%.1f s)\n", r.images_per_second, r.seconds);
  out << speed;
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

// Accuracy on a labelled image set, as timm's validate.py and torchvision's reference
// `train.py --test-only` measure it: the set (an ImageFolder tree or a CSV/TSV of file,label),
// the matching of its class names to the model's classes, and the tally of top-1 / top-5 hits
// with 95% confidence intervals, the worst classes and the most frequent confusions.
#pragma once

#include <cstddef>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "vit/batch/class_match.h"
#include "vit/batch/inputs.h"
#include "vit/io/labels.h"

namespace vit {

class LabelledSet {
 public:
  // A folder (ImageFolder: one subfolder per class; files in the folder itself are left out)
  // or a .csv / .tsv file of `file,label` rows (an optional header row naming file/path/image
  // first; paths relative to the list's folder). Throws UsageError.
  static LabelledSet read(const std::string& path, const Labels& labels);

  // The pipeline's inputs: the class folders walked recursively, or the listed files.
  InputOptions inputs() const;
  // The class of an input path as the pipeline reports it; -1 when it has none.
  int class_of(const std::string& file) const;
  const std::string& description() const { return description_; }

 private:
  std::string root_;                    // ImageFolder: the folder, with a trailing '/'
  std::map<std::string, int> folders_;  // ImageFolder: class folder name -> class
  std::map<std::string, int> files_;    // list: file as given to the pipeline -> class
  std::vector<std::string> order_;      // list: files in order
  std::string description_;
};

// A proportion and its 95% Wilson score interval.
struct Proportion {
  size_t hits = 0, total = 0;
  double value = 0, low = 0, high = 0;
};
Proportion wilson_interval(size_t hits, size_t total);

struct ClassScore {
  int index = 0;
  size_t images = 0, top1 = 0;
};
struct Confusion {
  int truth = 0, predicted = 0;
  size_t count = 0;
};

struct EvalReport {
  size_t images = 0;                  // classified and counted
  size_t failed = 0;                  // inputs that could not be read (not counted in the accuracy)
  Proportion top1, top5;              // top5: the top-k accuracy, k = top5_width
  int top5_width = 5;                 // -k; fewer when the model has fewer classes
  std::vector<ClassScore> worst;      // lowest top-1 first
  std::vector<Confusion> confusions;  // most frequent first
  double seconds = 0, images_per_second = 0;
};

class EvalTally {
 public:
  // k: the top-k accuracy counted beside the top-1 (-k; at most the classes given per input).
  explicit EvalTally(int k = 5) : k_(k), width_(k) {}
  // An input that was classified: its class and the model's classes, best first.
  void add(int truth, const std::vector<int>& ranked);
  void add_failure() { ++failed_; }
  // worst: classes to list (lowest top-1 accuracy, ties by more images); confusions: pairs to list.
  EvalReport report(size_t worst, size_t confusions) const;

 private:
  std::map<int, ClassScore> classes_;
  std::map<std::pair<int, int>, size_t> confusions_;
  size_t images_ = 0, top1_ = 0, top5_ = 0, failed_ = 0;
  int k_ = 5;
  int width_ = 5;
};

std::string render_eval_text(const EvalReport& r, const Labels& labels, const std::string& dataset);
nlohmann::ordered_json eval_json(const EvalReport& r, const Labels& labels, const std::string& dataset);

}  // namespace vit

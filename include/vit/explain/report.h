// The output of `vit-classify explain`: every picture (figures.h), an index.html that shows
// them with captions, and explain.json with the numbers, written into one folder.
#pragma once

#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "vit/explain/attention.h"
#include "vit/io/labels.h"
#include "vit/model/engine.h"
#include "vit/model/prediction.h"

namespace vit {

struct ExplainOptions {
  std::string out_dir;
  int layer = -1;  // 0-based block; -1 = the last
  int head = 0;    // 0-based head for the attention matrix
  HeadFusion fusion = HeadFusion::Mean;
  HeadScale head_scale = HeadScale::Panel;  // the per-head pictures' colour scale
  double discard_ratio = 0;
  bool force = false;  // replace existing files
  bool json = false;   // also explain.json
  int top_k = 5;
  std::string image_name;  // for captions
  std::string model_name;
  std::string preprocess;  // PreprocessConfig::describe()
};

// The files run_explain writes, relative to out_dir, for a model with `layers` blocks.
std::vector<std::string> explain_files(const ExplainOptions& o, int layers);
// Throws UsageError when layer or head is out of range for the model, or when one of the files
// exists already and o.force is false. Writes nothing.
void check_explain(const ExplainOptions& o, int layers, int heads);

struct ExplainResult {
  std::vector<Prediction> top;     // best first
  std::vector<std::string> files;  // written, relative to out_dir
};

// Draws every picture and writes them, index.html and (o.json) explain.json into o.out_dir
// (created if missing). Each file is written under a temporary name and renamed, so none is
// ever half-written. rgb: the model input (8-bit RGB, S x S). Throws UsageError (see
// check_explain), OutputError.
ExplainResult run_explain(const cv::Mat& rgb, const AttentionTrace& trace, int patch, const Labels& labels,
                          const ExplainOptions& o);

}  // namespace vit

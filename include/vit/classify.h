// The classify job: images in, one record per input out, in input order. Decoding and
// preprocessing run per image; inference runs in batches.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "vit/engine.h"
#include "vit/labels.h"
#include "vit/output.h"
#include "vit/preprocess.h"

namespace vit {

struct ClassifyOptions {
  std::vector<std::string> inputs;  // image paths, in output order
  int top_k = 5;
  int batch_size = 8;
};

struct ClassifySummary {
  size_t images = 0;  // inputs seen
  size_t failed = 0;  // inputs that got an error record
  double seconds = 0;
};

// Classifies every input and hands each record to `emit` in input order; a bad input gives
// an error record and the job goes on. Model errors (ModelError) stop the job.
ClassifySummary classify_files(Engine& engine, const PreprocessConfig& pre, const Labels& labels,
                               const ClassifyOptions& options, const std::function<void(const Record&)>& emit);

}  // namespace vit

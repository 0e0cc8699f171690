// The classify job; see include/vit/classify.h.
#include "vit/classify.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "vit/errors.h"

namespace vit {

ClassifySummary classify_files(Engine& engine, const PreprocessConfig& pre, const Labels& labels,
                               const ClassifyOptions& options, const std::function<void(const Record&)>& emit) {
  const auto start = std::chrono::steady_clock::now();
  ClassifySummary summary;
  const int side = engine.info().image_size;
  const size_t batch_size = static_cast<size_t>(std::max(1, options.batch_size));

  std::vector<Record> pending;   // records of this batch, in input order
  std::vector<size_t> slots;     // pending index of each image in the batch
  std::vector<float> batch;

  auto flush = [&] {
    if (!slots.empty()) {
      const int n = static_cast<int>(slots.size());
      const std::vector<float> probs = engine.probabilities(batch.data(), n);
      const int classes = static_cast<int>(probs.size() / slots.size());
      for (int i = 0; i < n; ++i) {
        Record& r = pending[slots[i]];
        r.ok = true;
        r.predictions = top_k(probs.data() + static_cast<size_t>(i) * classes, classes, options.top_k, labels);
      }
    }
    for (const Record& r : pending) {
      if (!r.ok) ++summary.failed;
      emit(r);
    }
    pending.clear();
    slots.clear();
    batch.clear();
  };

  for (const std::string& path : options.inputs) {
    ++summary.images;
    Record rec;
    rec.file = path;
    try {
      const cv::Mat rgb = decode_image(path);
      int got = 0;
      std::vector<float> x = preprocess(rgb, pre, &got);
      if (got != side)
        throw UsageError("preprocessing gives " + std::to_string(got) + "x" + std::to_string(got) +
                         " pixels but the model takes " + std::to_string(side) + "x" + std::to_string(side) +
                         " (check --crop / --resize)");
      batch.insert(batch.end(), x.begin(), x.end());
      slots.push_back(pending.size());
    } catch (const ImageError& e) {
      rec.error = e.what();
      spdlog::error("{}", e.what());
    }
    pending.push_back(std::move(rec));
    if (slots.size() >= batch_size) flush();
  }
  flush();
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

}  // namespace vit

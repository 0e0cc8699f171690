// The classify job; see include/vit/classify.h.
#include "vit/classify.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <thread>

#include "vit/errors.h"

namespace vit {

void check_preprocess_fits(const PreprocessConfig& pre, int side) {
  const std::string need = " but the model takes " + std::to_string(side) + "x" + std::to_string(side) +
                           " (check --crop / --resize)";
  if (pre.crop > 0) {
    if (pre.crop != side) throw UsageError("preprocessing crops " + std::to_string(pre.crop) + "x" + std::to_string(pre.crop) + need);
  } else if (pre.resize_width > 0 && pre.resize_height > 0) {
    if (pre.resize_width != side || pre.resize_height != side)
      throw UsageError("preprocessing resizes to " + std::to_string(pre.resize_width) + "x" +
                       std::to_string(pre.resize_height) + need);
  } else {
    throw UsageError("with no crop and no WxH resize the input keeps the photo's aspect" + need);
  }
}

namespace {

struct Batch {
  size_t index = 0;
  std::vector<InputItem> items;
};

// Decodes, preprocesses and classifies one batch; bad inputs become error records.
std::vector<Record> run_batch(Engine& engine, const PreprocessConfig& pre, const Labels& labels, int top,
                              bool fast_decode, const Batch& b) {
  const int side = engine.info().image_size;
  const size_t plane = static_cast<size_t>(3) * side * side;
  std::vector<Record> records(b.items.size());
  std::vector<size_t> slots;
  std::vector<float> x(plane * b.items.size());
  for (size_t i = 0; i < b.items.size(); ++i) {
    Record& r = records[i];
    r.file = b.items[i].path;
    if (!b.items[i].error.empty()) {
      r.error = b.items[i].error;
      continue;
    }
    try {
      const cv::Mat img = resize_and_crop(decode_image(r.file, fast_decode ? &pre : nullptr), pre);
      if (img.cols != side || img.rows != side)
        throw ImageError("'" + r.file + "': preprocessing gives " + std::to_string(img.cols) + "x" +
                         std::to_string(img.rows) + " pixels but the model takes " + std::to_string(side) + "x" +
                         std::to_string(side));
      normalize_chw(img, pre, x.data() + plane * slots.size());
      slots.push_back(i);
    } catch (const ImageError& e) {
      r.error = e.what();
      if (r.error.find(r.file) == std::string::npos) r.error = "'" + r.file + "': " + r.error;  // stderr needs the name
    } catch (const cv::Exception& e) {
      r.error = "'" + r.file + "': OpenCV failed: " + e.what();
    }
  }
  if (!slots.empty()) {
    const int n = static_cast<int>(slots.size());
    const std::vector<float> probs = engine.probabilities(x.data(), n);
    const int classes = static_cast<int>(probs.size() / slots.size());
    for (int i = 0; i < n; ++i) {
      Record& r = records[slots[i]];
      r.ok = true;
      r.predictions = top_k(probs.data() + static_cast<size_t>(i) * classes, classes, top, labels);
    }
  }
  for (const Record& r : records)
    if (!r.ok) spdlog::error("{}", r.error);
  return records;
}

}  // namespace

ClassifySummary classify_stream(Engine& engine, const PreprocessConfig& pre, const Labels& labels,
                                const ClassifyOptions& options, InputStream& inputs,
                                const std::function<void(const std::vector<Record>&)>& emit,
                                const std::function<void(const ClassifySummary&)>& progress) {
  const auto start = std::chrono::steady_clock::now();
  const size_t batch_size = static_cast<size_t>(std::max(1, options.batch_size));
  const int workers = std::max(1, options.workers);
  const size_t max_ahead = 2 * static_cast<size_t>(workers);

  std::mutex mu;
  std::condition_variable cv;
  size_t next_batch = 0, written = 0;
  bool exhausted = false;
  std::exception_ptr failure;
  std::map<size_t, std::vector<Record>> done;  // finished batches waiting for their turn
  ClassifySummary summary;

  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };

  auto worker = [&] {
    while (true) {
      Batch b;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return next_batch - written < max_ahead || failure; });
        if (failure || exhausted) return;
        if (options.stop && options.stop->load()) {
          summary.interrupted = true;
          return;
        }
        try {
          InputItem item;
          while (b.items.size() < batch_size && inputs.next(item)) {
            if (options.skip && options.skip(item.path)) {
              ++summary.skipped;
              continue;
            }
            b.items.push_back(std::move(item));
          }
        } catch (...) {
          failure = std::current_exception();
          cv.notify_all();
          return;
        }
        if (b.items.empty()) {
          exhausted = true;
          cv.notify_all();
          return;
        }
        b.index = next_batch++;
      }
      std::vector<Record> records;
      try {
        records = run_batch(engine, pre, labels, options.top_k, options.fast_decode, b);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu);
        if (!failure) failure = std::current_exception();
        cv.notify_all();
        return;
      }
      std::lock_guard<std::mutex> lock(mu);
      done[b.index] = std::move(records);
      while (!failure && done.count(written)) {
        auto& out = done[written];
        try {
          emit(out);
        } catch (...) {
          failure = std::current_exception();
          break;
        }
        summary.images += out.size();
        for (const Record& r : out) summary.failed += !r.ok;
        done.erase(written++);
        summary.seconds = elapsed();
        if (progress) progress(summary);
      }
      cv.notify_all();
    }
  };

  std::vector<std::thread> pool;
  for (int i = 1; i < workers; ++i) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
  summary.seconds = elapsed();
  return summary;
}

}  // namespace vit

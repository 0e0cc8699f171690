// The classify job; see include/vit/batch/pipeline.h.
#include "vit/batch/pipeline.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <exception>
#include <iterator>
#include <map>
#include <mutex>
#include <thread>

#include "vit/errors.h"
#include "vit/image/decode.h"

namespace vit {

namespace {

struct Batch {
  size_t index = 0;
  std::vector<InputItem> items;
};

// An input's pixels: the file, or for "-" the bytes on standard input.
cv::Mat decode_input(const std::string& path, const PreprocessConfig* fast_for, const ClassifyOptions& options) {
  std::istream* standard_input = options.standard_input;
  if (path != "-") return decode_image(path, fast_for, options.max_pixels);
  if (!standard_input) throw ImageError("'-' names standard input, which this run does not have");
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(*standard_input)), std::istreambuf_iterator<char>());
  return decode_image_bytes(bytes, "standard input", fast_for, options.max_pixels);
}

// Decodes, preprocesses and classifies one batch; bad inputs become error records.
std::vector<Record> run_batch(Engine& engine, const PreprocessConfig& pre, const Labels& labels,
                              const ClassifyOptions& options, const Batch& b) {
  const int side = engine.info().image_size;
  const size_t plane = static_cast<size_t>(3) * side * side;
  std::vector<Record> records(b.items.size());
  std::vector<size_t> slots;  // records whose image is in x, in order
  std::vector<float> x(plane * b.items.size());
  for (size_t i = 0; i < b.items.size(); ++i) {
    Record& r = records[i];
    r.file = b.items[i].path;
    if (!b.items[i].error.empty()) {
      r.error = b.items[i].error;
      continue;
    }
    try {
      // check_preprocess_fits made sure that every image comes out side x side.
      const cv::Mat rgb = decode_input(r.file, options.fast_decode ? &pre : nullptr, options);
      normalize_chw(resize_and_crop(rgb, pre), pre, x.data() + plane * slots.size());
      slots.push_back(i);
    } catch (const ImageError& e) {
      r.error = e.what();
      if (r.error.find(r.file) == std::string::npos) r.error = "'" + r.file + "': " + r.error;  // stderr needs the name
    } catch (const cv::Exception& e) {
      r.error = "'" + r.file + "': OpenCV failed: " + e.what();
    } catch (const std::bad_alloc&) {
      r.error = "'" + r.file + "': not enough memory to decode and resize it";
    }
  }
  if (!slots.empty()) {
    const int n = static_cast<int>(slots.size());
    std::vector<float> logits;
    if (options.logits) logits = engine.logits(x.data(), n);
    const std::vector<float> probs =
        options.logits ? probabilities_of_logits(logits, n) : engine.probabilities(x.data(), n);
    const int classes = static_cast<int>(probs.size() / slots.size());
    for (int i = 0; i < n; ++i) {
      Record& r = records[slots[static_cast<size_t>(i)]];
      const float* row = probs.data() + static_cast<size_t>(i) * classes;
      if (!std::all_of(row, row + classes, [](float p) { return std::isfinite(p); })) {
        r.error = "'" + r.file + "': the model gave non-finite scores (NaN or infinity) for this image";
        continue;
      }
      r.ok = true;
      r.predictions = top_k(probs.data() + static_cast<size_t>(i) * classes, classes, options.top_k, labels,
                            options.logits ? logits.data() + static_cast<size_t>(i) * classes : nullptr);
    }
  }
  for (const Record& r : records)
    if (!r.ok) spdlog::error("{}", r.error);
  return records;
}

// `workers` threads each take the next batch from the inputs, run it, and hand its records
// to the in-order writer; the first failure stops every worker and is rethrown by run().
class Pipeline {
 public:
  Pipeline(Engine& engine, const PreprocessConfig& pre, const Labels& labels, const ClassifyOptions& options,
           InputStream& inputs, const std::function<void(const std::vector<Record>&)>& emit,
           const std::function<void(const ClassifySummary&)>& progress)
      : engine_(engine),
        pre_(pre),
        labels_(labels),
        options_(options),
        inputs_(inputs),
        emit_(emit),
        progress_(progress),
        batch_size_(static_cast<size_t>(std::max(1, options.batch_size))),
        max_ahead_(2 * static_cast<size_t>(std::max(1, options.workers))) {
    inputs_.set_stop(options.stop);  // a list still open (a FIFO, a pipe) stops waiting for lines
  }

  ClassifySummary run() {
    std::vector<std::thread> pool;
    for (int i = 1; i < options_.workers; ++i) pool.emplace_back([this] { work(); });
    work();
    for (auto& t : pool) t.join();
    if (failure_) std::rethrow_exception(failure_);
    summary_.seconds = elapsed();
    return summary_;
  }

 private:
  void work() {
    Batch b;
    while (take(b)) {
      std::vector<Record> records;
      try {
        records = run_batch(engine_, pre_, labels_, options_, b);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu_);
        fail(std::current_exception());
        return;
      }
      std::lock_guard<std::mutex> lock(mu_);
      done_[b.index] = std::move(records);
      write_ready();
      cv_.notify_all();
    }
  }

  // The next batch of inputs, once fewer than max_ahead_ batches are unwritten; false when
  // the inputs are exhausted, a stop was asked for, or a worker failed. The inputs are read
  // under their own lock, not mu_: a list that is slow to come (a FIFO, a pipe) never holds up
  // the writing of finished batches. Lock order: input_mu_, then mu_.
  bool take(Batch& b) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return next_batch_ - written_ < max_ahead_ || failure_; });
      if (failure_ || exhausted_) return false;
      if (stop_asked()) {
        summary_.interrupted = true;
        return false;
      }
    }
    std::lock_guard<std::mutex> reading(input_mu_);
    {
      std::lock_guard<std::mutex> lock(mu_);  // a reader before this one may have failed or ended them
      if (failure_ || exhausted_) return false;
    }
    b.items.clear();
    size_t skipped = 0;
    std::exception_ptr error;
    try {
      InputItem item;
      while (b.items.size() < batch_size_ && inputs_.next(item)) {
        if (options_.skip && options_.skip(item.path)) {
          ++skipped;
          continue;
        }
        b.items.push_back(std::move(item));
      }
    } catch (...) {
      error = std::current_exception();
    }
    std::lock_guard<std::mutex> lock(mu_);
    summary_.skipped += skipped;
    if (error) {
      fail(error);
      return false;
    }
    if (failure_ || exhausted_) return false;
    if (inputs_.stopped()) {  // stopped while waiting for the list: the entries read are not started
      summary_.interrupted = true;
      return false;
    }
    if (b.items.empty()) {
      exhausted_ = true;
      cv_.notify_all();
      return false;
    }
    b.index = next_batch_++;
    return true;
  }

  bool stop_asked() const { return options_.stop && options_.stop->load(); }

  // Emits the finished batches whose turn has come (called with mu_ held).
  void write_ready() {
    while (!failure_ && done_.count(written_)) {
      const auto& out = done_[written_];
      try {
        emit_(out);
      } catch (...) {
        fail(std::current_exception());
        return;
      }
      summary_.images += out.size();
      for (const Record& r : out) summary_.failed += !r.ok;
      done_.erase(written_++);
      summary_.seconds = elapsed();
      if (progress_) progress_(summary_);
    }
  }

  void fail(std::exception_ptr e) {  // called with mu_ held
    if (!failure_) failure_ = e;
    cv_.notify_all();
  }

  double elapsed() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

  Engine& engine_;
  const PreprocessConfig& pre_;
  const Labels& labels_;
  const ClassifyOptions& options_;
  InputStream& inputs_;
  const std::function<void(const std::vector<Record>&)>& emit_;
  const std::function<void(const ClassifySummary&)>& progress_;
  const size_t batch_size_, max_ahead_;
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();

  std::mutex input_mu_;  // the reader of inputs_ (see take())
  std::mutex mu_;        // everything below
  std::condition_variable cv_;
  size_t next_batch_ = 0, written_ = 0;
  bool exhausted_ = false;
  std::exception_ptr failure_;
  std::map<size_t, std::vector<Record>> done_;  // finished batches waiting for their turn
  ClassifySummary summary_;
};

}  // namespace

ClassifySummary classify_stream(Engine& engine, const PreprocessConfig& pre, const Labels& labels,
                                const ClassifyOptions& options, InputStream& inputs,
                                const std::function<void(const std::vector<Record>&)>& emit,
                                const std::function<void(const ClassifySummary&)>& progress) {
  Pipeline pipeline(engine, pre, labels, options, inputs, emit, progress);
  return pipeline.run();
}

}  // namespace vit

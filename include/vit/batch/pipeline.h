// The classify job: inputs stream in, one record per input comes out, in input order.
// `workers` pipelines run side by side; each takes the next batch of inputs, decodes and
// preprocesses it, runs the model on it and hands its records to an in-order writer. Each
// worker owns a core (LibTorch's intra-op threads are set to threads / workers), so decoding
// and math never wait on each other's spinning threads. At most 2 x workers batches are in
// flight or waiting to be written: memory stays flat however many inputs there are.
#pragma once

#include <atomic>
#include <functional>
#include <istream>
#include <string>
#include <vector>

#include "vit/batch/inputs.h"
#include "vit/batch/records.h"
#include "vit/image/decode.h"
#include "vit/image/preprocess.h"
#include "vit/io/labels.h"
#include "vit/model/engine.h"

namespace vit {

struct ClassifyOptions {
  int top_k = 5;
  bool logits = false;  // predictions carry their logits (Prediction::logit)
  int batch_size = 8;
  int workers = 1;
  bool fast_decode = false;                 // see decode_image()
  uint64_t max_pixels = kDefaultMaxPixels;  // larger images are error records, never decoded
  // Inputs for which this returns true are skipped (--resume); may be empty.
  std::function<bool(const std::string&)> skip;
  // Set (e.g. by a signal handler) to stop taking new batches; batches in flight finish.
  const std::atomic<bool>* stop = nullptr;
  // What the input "-" reads (once): the image's bytes on standard input.
  std::istream* standard_input = nullptr;
};

struct ClassifySummary {
  size_t images = 0;   // records written
  size_t failed = 0;   // of which errors
  size_t skipped = 0;  // inputs skipped by options.skip
  double seconds = 0;
  bool interrupted = false;
};

// Runs the job; the preprocessing must pass check_preprocess_fits for the model. emit receives each batch's records in
// input order (called by one thread at a time); progress is called after each emit with the running totals. Bad inputs
// become error records; a model failure (ModelError) stops the job and is rethrown.
ClassifySummary classify_stream(Engine& engine, const PreprocessConfig& pre, const Labels& labels,
                                const ClassifyOptions& options, InputStream& inputs,
                                const std::function<void(const std::vector<Record>&)>& emit,
                                const std::function<void(const ClassifySummary&)>& progress = nullptr);

}  // namespace vit

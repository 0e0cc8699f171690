// `vit-classify bench`: how fast the model runs here. The model is loaded once (its load time
// reported apart), then for each batch size it is warmed up and timed over iterations of the
// forward pass on preprocessed inputs (model only, as peers' benchmarks time theirs): p50 and
// p90 latency per batch and images/s, with the CPU, threads and peak memory named; text for
// people, one JSON object with --format json. A benchmark, not a test: scripts/bench_peers.sh
// sets these figures beside PyTorch's and ONNX Runtime's from the same run.
#pragma once

#include <iosfwd>

#include "vit/app/options.h"

namespace vit {

int run_bench(const CommonOptions& common, const BenchCommandOptions& o, std::ostream& out);

}  // namespace vit

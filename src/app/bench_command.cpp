// The bench subcommand; see include/vit/app/bench_command.h.
#include "vit/app/bench_command.h"

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <ostream>
#include <random>

#include "vit/app/exit_status.h"
#include "vit/app/model_setup.h"
#include "vit/app/process_state.h"
#include "vit/errors.h"
#include "vit/image/decode.h"
#include "vit/model/runtime.h"

namespace vit {

namespace {

using Clock = std::chrono::steady_clock;

struct BatchFigures {
  int batch_size = 0, iterations = 0;
  double p50_ms = 0, p90_ms = 0, images_per_second = 0;
};

// n inputs of the model's shape: the photo preprocessed, or random normal values (fixed seed).
std::vector<float> make_inputs(const BenchCommandOptions& o, const LoadedModel& m, int n) {
  const int s = m.engine->info().image_size;
  const size_t per_image = static_cast<size_t>(3) * s * s;
  std::vector<float> one(per_image);
  if (!o.image.empty()) {
    int side = 0;
    one = preprocess(decode_image(o.image), m.preprocess, &side);
    if (side != s)
      throw UsageError("--image: the preprocessing gives " + std::to_string(side) + " px, the model takes " +
                       std::to_string(s));
  } else {
    std::mt19937 gen(0);
    std::normal_distribution<float> normal;
    for (auto& v : one) v = normal(gen);
  }
  std::vector<float> batch;
  batch.reserve(per_image * n);
  for (int i = 0; i < n; ++i) batch.insert(batch.end(), one.begin(), one.end());
  return batch;
}

// The nearest-rank percentile of sorted values.
double percentile(const std::vector<double>& sorted, double p) {
  const size_t rank = static_cast<size_t>(std::ceil(p / 100 * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
}

BatchFigures time_batch(const BenchCommandOptions& o, const LoadedModel& m, int n) {
  const std::vector<float> inputs = make_inputs(o, m, n);
  for (int i = 0; i < o.warmup; ++i) (void)m.engine->probabilities(inputs.data(), n);
  std::vector<double> ms;
  const auto start = Clock::now();
  while (o.iterations > 0 ? static_cast<int>(ms.size()) < o.iterations
                          : ms.size() < 5 || std::chrono::duration<double>(Clock::now() - start).count() < o.seconds) {
    const auto t0 = Clock::now();
    (void)m.engine->probabilities(inputs.data(), n);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  double total = 0;
  for (double x : ms) total += x;
  std::sort(ms.begin(), ms.end());
  BatchFigures f;
  f.batch_size = n;
  f.iterations = static_cast<int>(ms.size());
  f.p50_ms = percentile(ms, 50);
  f.p90_ms = percentile(ms, 90);
  f.images_per_second = total > 0 ? 1000.0 * n * static_cast<double>(ms.size()) / total : 0;
  spdlog::info("batch {}: {} iterations, p50 {:.2f} ms", n, f.iterations, f.p50_ms);
  return f;
}

long peak_rss_mb() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024;
}

// Peak resident memory in two parts: loading (which holds the float32 weights a reduced
// precision then converts) and running. Linux resets the high-water mark VmHWM when "5" is
// written to /proc/self/clear_refs; where it cannot, the running peak is the whole run's.
struct MemoryFigures {
  long load_peak_mb = 0, run_peak_mb = 0;
  bool run_peak_apart = false;  // false: run_peak_mb includes loading
};

bool reset_peak_rss() {
  std::ofstream clear("/proc/self/clear_refs");
  return clear && (clear << "5").flush();
}

long vm_hwm_mb() {
  std::ifstream status("/proc/self/status");
  std::string key;
  long kb = 0;
  while (status >> key)
    if (key == "VmHWM:" && status >> kb) return kb / 1024;
  return peak_rss_mb();
}

void print_text(std::ostream& out, const LoadedModel& m, const BenchCommandOptions& o, double load_s,
                const std::vector<BatchFigures>& figures, const MemoryFigures& mem) {
  const ModelInfo& info = m.engine->info();
  out << "model:   " << info.path << " (" << info.description << ")\n"
      << "runs:    " << info.precision << " on " << info.device << ", " << math_threads() << " math threads, LibTorch "
      << torch_version() << ", inputs " << (o.image.empty() ? "random" : o.image) << "\n"
      << "cpu:     " << cpu_description() << "\n";
  if (!info.kernels.empty()) out << "kernels: " << info.kernels << "\n";
  out << fmt::format("load:    {:.3f} s\n", load_s) << "batch  iterations   p50 ms   p90 ms   images/s\n";
  for (const auto& f : figures)
    out << fmt::format("{:5}  {:10}  {:7.2f}  {:7.2f}  {:9.2f}\n", f.batch_size, f.iterations, f.p50_ms, f.p90_ms,
                       f.images_per_second);
  out << "peak memory: " << mem.run_peak_mb << " MB running" << (mem.run_peak_apart ? "" : " (and loading)") << ", "
      << mem.load_peak_mb << " MB loading\n";
}

nlohmann::ordered_json bench_json(const LoadedModel& m, const BenchCommandOptions& o, double load_s,
                                  const std::vector<BatchFigures>& figures, const MemoryFigures& mem) {
  const ModelInfo& info = m.engine->info();
  nlohmann::ordered_json j{
      {"model", info.path},       {"description", info.description}, {"precision", info.precision},
      {"device", info.device},    {"threads", math_threads()},       {"cpu", cpu_description()},
      {"torch", torch_version()}, {"blas", blas_library_path()},     {"inputs", o.image.empty() ? "random" : o.image},
      {"kernels", info.kernels},  {"load_seconds", load_s}};
  auto results = nlohmann::ordered_json::array();
  for (const auto& f : figures)
    results.push_back({{"batch_size", f.batch_size},
                       {"iterations", f.iterations},
                       {"p50_ms", f.p50_ms},
                       {"p90_ms", f.p90_ms},
                       {"images_per_second", f.images_per_second}});
  j["results"] = results;
  j["peak_rss_mb"] = std::max(mem.run_peak_mb, mem.load_peak_mb);  // the whole process, as the peers report theirs
  j["run_peak_rss_mb"] = mem.run_peak_mb;                          // after loading (see run_peak_apart)
  j["load_peak_rss_mb"] = mem.load_peak_mb;
  j["run_peak_apart"] = mem.run_peak_apart;
  return j;
}

}  // namespace

int run_bench(const CommonOptions& common, const BenchCommandOptions& o, std::ostream& out) {
  ScopedMathThreads threads(common.model.threads);
  const auto t0 = Clock::now();
  const LoadedModel m = load_model(common.model);
  const double load_s = std::chrono::duration<double>(Clock::now() - t0).count();
  MemoryFigures mem;
  mem.load_peak_mb = peak_rss_mb();
  mem.run_peak_apart = reset_peak_rss();
  std::vector<BatchFigures> figures;
  for (int n : o.batch_sizes) figures.push_back(time_batch(o, m, n));
  mem.run_peak_mb = mem.run_peak_apart ? vm_hwm_mb() : peak_rss_mb();
  switch (o.format) {
    case ReportFormat::Json: out << bench_json(m, o, load_s, figures, mem).dump() << '\n'; break;
    case ReportFormat::Text: print_text(out, m, o, load_s, figures, mem); break;
  }
  out.flush();
  return static_cast<int>(ExitCode::Ok);
}

}  // namespace vit

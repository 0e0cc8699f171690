// The classify subcommand; see include/vit/app/classify_command.h.
#include "vit/app/classify_command.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <optional>
#include <set>
#include <thread>

#include "vit/app/exit_status.h"
#include "vit/app/model_setup.h"
#include "vit/app/process_state.h"
#include "vit/app/progress.h"
#include "vit/app/record_sink.h"
#include "vit/app/resume.h"
#include "vit/batch/pipeline.h"
#include "vit/errors.h"
#include "vit/io/files.h"
#include "vit/io/sha256.h"

namespace vit {

namespace {

InputOptions input_options(const ClassifyCommandOptions& o) {
  InputOptions io;
  io.paths = o.inputs;
  io.files_from = o.files_from;
  io.null_separated = o.null_separated;
  io.recursive = o.recursive;
  io.hidden = o.hidden;
  io.extensions = o.extensions.empty() ? default_extensions() : o.extensions;
  io.shard = o.shard;
  return io;
}

// One input: all threads go to the math. Several: one pipeline per thread (see pipeline.h),
// each with threads / workers math threads.
struct WorkPlan {
  int workers = 1, math_threads = 1;
};

WorkPlan plan_work(const ModelOptions& m, const ClassifyCommandOptions& o, bool single) {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int threads = m.threads > 0 ? m.threads : cores;
  WorkPlan p;
  p.workers = o.workers > 0 ? o.workers : single ? 1 : threads;
  p.math_threads = std::max(1, threads / p.workers);
  return p;
}

// -o FILE that already holds records is replaced only with --force (or added to with --resume).
void check_output_file(const ClassifyCommandOptions& o) {
  struct stat st {};
  if (o.output.empty() || o.output == "-" || o.resume || o.force) return;
  if (::stat(o.output.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
    throw UsageError("'" + o.output + "' already exists (" + std::to_string(st.st_size) +
                     " bytes): pass --resume to add the inputs it lacks, or --force to replace it");
}

std::string plural(size_t n, const char* word) { return std::to_string(n) + " " + word + (n == 1 ? "" : "s"); }

// "vit-classify: 5 inputs: 3 classified, 2 failed; 1.2 s, 2.50 images/s"
void print_summary(std::ostream& err, const ClassifySummary& s) {
  const size_t classified = s.images - s.failed;
  std::string line = "vit-classify: " + plural(s.images, "input") + ": " + std::to_string(classified) +
                     " classified, " + std::to_string(s.failed) + " failed";
  if (s.skipped) line += ", " + std::to_string(s.skipped) + " skipped (already recorded)";
  char buf[64];
  std::snprintf(buf, sizeof buf, "; %.1f s", s.seconds);
  line += buf;
  if (classified > 0 && s.seconds > 0) {
    std::snprintf(buf, sizeof buf, ", %.2f images/s", static_cast<double>(classified) / s.seconds);
    line += buf;
  }
  err << line << "\n" << std::flush;
}

// A bar redrawn on a terminal, plain lines elsewhere with --progress, nothing with -q.
ProgressBar::Style progress_style(const CommonOptions& common, const ClassifyCommandOptions& o, std::ostream& err) {
  const bool tty = ::isatty(STDERR_FILENO) == 1 && &err == &std::cerr;
  if (common.log.quiet || o.progress == ProgressMode::Never || (o.progress == ProgressMode::Auto && !tty))
    return ProgressBar::Style::Off;
  return tty ? ProgressBar::Style::Terminal : ProgressBar::Style::Lines;
}

// Which inputs --resume skips: those with a record, except failed ones with --retry-failed.
std::function<bool(const std::string&)> resume_skip(const ClassifyCommandOptions& o, const Recorded& recorded,
                                                    Format format) {
  if (!o.resume) return nullptr;
  return [&recorded, format, retry = o.retry_failed](const std::string& p) {
    const std::string key = record_key(p, format);
    return recorded.done.count(key) > 0 && !(retry && recorded.failed.count(key) > 0);
  };
}

}  // namespace

int run_classify(const CommonOptions& common, const ClassifyCommandOptions& o, std::ostream& out, std::ostream& err,
                 std::istream* in) {
  check_classify_options(o, common);
  check_output_file(o);
  const Format format = common.output.format;
  InputStream inputs(input_options(o), in);
  // --resume locks the file before reading it, so that a second run cannot record the same inputs.
  std::optional<RecordSink> sink;
  if (o.resume) sink.emplace(out, o.output, true);
  const Recorded recorded = o.resume ? recorded_inputs(o.output, format) : Recorded{};
  const bool single = inputs.total_known() && inputs.known_total() <= 1;
  const WorkPlan plan = plan_work(common.model, o, single);
  ScopedMathThreads threads(plan.math_threads);
  const LoadedModel m = load_model(common.model);
  const ModelInfo& info = m.engine->info();
  spdlog::info("{} worker(s) x {} math thread(s), batch size {}", plan.workers, threads.threads(), o.batch_size);

  // JSON records name the model as the user did, and by its SHA-256 (read once, here).
  const std::string sha = format == Format::Json ? sha256_file(info.path) : "";
  RecordWriter writer(format, common.output.top_k, info.path, sha, !single);
  if (o.resume)
    check_resume_matches(
        recorded, o.output, format, writer.header(), sha,
        info.num_classes > 0 ? static_cast<size_t>(std::min(common.output.top_k, info.num_classes)) : 0);
  if (!sink) sink.emplace(out, o.output, false);
  if (!o.resume || sink->empty_file()) sink->write(writer.header());
  const ProgressBar::Style style = progress_style(common, o, err);
  std::optional<InputCounter> counter;  // the total, counted ahead while the work goes on
  if (style != ProgressBar::Style::Off) counter.emplace(input_options(o));
  ProgressBar bar(err, style, counter ? &*counter : nullptr);

  ScopedStopSignals signals;
  ClassifyOptions co;
  co.top_k = common.output.top_k;
  co.batch_size = o.batch_size;
  co.workers = plan.workers;
  co.fast_decode = o.fast_decode;
  co.max_pixels = common.max_pixels;
  co.stop = &signals.stop();
  co.standard_input = in;
  co.skip = resume_skip(o, recorded, format);
  const ClassifySummary s = classify_stream(
      *m.engine, m.preprocess, m.labels, co, inputs,
      [&](const std::vector<Record>& batch) {
        std::string bytes;
        for (const Record& r : batch) bytes += writer.render(r);
        sink->write(bytes);
      },
      [&](const ClassifySummary& p) { bar.update(p); });
  bar.update(s, true);
  if (inputs.skipped_by_extension() > 0)
    spdlog::info("{} skipped in the folders: not an image extension (--ext)",
                 plural(inputs.skipped_by_extension(), "file"));
  const bool lone_success = single && o.output.empty() && s.failed == 0 && s.skipped == 0;
  if (!common.log.quiet && !lone_success) print_summary(err, s);
  if (s.interrupted) {
    spdlog::warn("interrupted: the {} records so far are written; run again with --resume to finish", s.images);
    return static_cast<int>(ExitCode::Interrupted);
  }
  return static_cast<int>(s.failed ? ExitCode::SomeFailed : ExitCode::Ok);
}

}  // namespace vit

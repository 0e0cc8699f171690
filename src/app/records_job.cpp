// The records job; see include/vit/app/records_job.h.
#include "vit/app/records_job.h"

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <optional>
#include <thread>

#include "vit/app/exit_status.h"
#include "vit/app/process_state.h"
#include "vit/app/progress.h"
#include "vit/app/record_sink.h"
#include "vit/app/resume.h"
#include "vit/errors.h"
#include "vit/io/sha256.h"

namespace vit {

namespace {

std::string plural(size_t n, const char* word) { return std::to_string(n) + " " + word + (n == 1 ? "" : "s"); }

// "vit-classify: 5 inputs: 3 classified, 2 failed; 1.2 s, 2.50 images/s"
void print_summary(std::ostream& err, const ClassifySummary& s) {
  const size_t classified = s.images - s.failed;
  std::string line = "vit-classify: " + plural(s.images, "input") + ": " + std::to_string(classified) +
                     " classified, " + std::to_string(s.failed) + " failed";
  if (s.skipped) line += ", " + std::to_string(s.skipped) + " skipped (already recorded)";
  line += fmt::format("; {:.1f} s", s.seconds);
  if (classified > 0 && s.seconds > 0)
    line += fmt::format(", {:.2f} images/s", static_cast<double>(classified) / s.seconds);
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
                                                    RecordFormat format) {
  if (!o.resume) return nullptr;
  return [&recorded, format, retry = o.retry_failed](const std::string& p) {
    const std::string key = record_key(p, format);
    return recorded.done.count(key) > 0 && !(retry && recorded.failed.count(key) > 0);
  };
}

ClassifyOptions pipeline_options(const CommonOptions& common, const ClassifyCommandOptions& o, const WorkPlan& plan,
                                 const RecordsJob& job, std::istream* in) {
  ClassifyOptions co;
  co.top_k = job.pipeline_top_k > 0 ? job.pipeline_top_k : job.top_k;
  co.logits = common.output.detail.logits;
  co.batch_size = o.batch_size;
  co.workers = plan.workers;
  co.fast_decode = o.fast_decode;
  co.max_pixels = common.max_pixels;
  co.standard_input = in;
  return co;
}

}  // namespace

WorkPlan plan_work(const ModelOptions& m, const ClassifyCommandOptions& o, bool single) {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int threads = m.threads > 0 ? m.threads : cores;
  WorkPlan p;
  p.workers = o.workers > 0 ? o.workers : single ? 1 : threads;
  p.math_threads = std::max(1, threads / p.workers);
  return p;
}

int capped_top_k(int k, const ModelInfo& info) {
  if (info.num_classes <= 0 || k <= info.num_classes) return k;
  spdlog::warn("-k {}: the model has {} classes; showing all {}", k, info.num_classes, info.num_classes);
  return info.num_classes;
}

void check_output_file(const ClassifyCommandOptions& o) {
  struct stat st {};
  if (o.output.empty() || o.output == "-" || o.resume || o.force) return;
  if (::stat(o.output.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
    throw UsageError("'" + o.output + "' already exists (" + std::to_string(st.st_size) +
                     " bytes): pass --resume to add the inputs it lacks, or --force to replace it");
}

int run_records_job(const CommonOptions& common, const ClassifyCommandOptions& o, const WorkPlan& plan,
                    const LoadedModel& m, InputStream& inputs, const InputOptions& input_options, const RecordsJob& job,
                    std::ostream& out, std::ostream& err, std::istream* in, ClassifySummary* summary) {
  // --resume locks the file before reading it, so that a second run cannot record the same inputs.
  std::optional<RecordSink> sink;
  if (o.resume) sink.emplace(out, o.output, true);
  const Recorded recorded = o.resume ? recorded_inputs(o.output, job.format) : Recorded{};
  const ModelInfo& info = m.engine->info();
  // JSON records name the model as the user did (a file by its path, a repository by its id,
  // revision and commit), and by its SHA-256 (read once, here).
  const std::string sha = job.format == RecordFormat::Json && job.write_records ? sha256_file(info.path) : "";
  const int top_k = capped_top_k(job.top_k, info);
  RecordWriter writer(job.format, top_k, m.hub.repo_id.empty() ? info.path : m.hub.repo_id, sha, !job.single,
                      common.output.detail);
  if (!m.hub.repo_id.empty()) writer.set_hub_origin(m.hub.revision, m.hub.commit);
  if (job.with_truth) writer.include_truth();
  if (o.resume)
    check_resume_matches(recorded, o.output, job.format, writer.header(), sha,
                         info.num_classes > 0 ? static_cast<size_t>(top_k) : 0);
  if (!sink && job.write_records) sink.emplace(out, o.output, false);
  if (sink && (!o.resume || sink->empty_file())) sink->write(writer.header());
  const ProgressBar::Style style = progress_style(common, o, err);
  std::optional<InputCounter> counter;  // the total, counted ahead while the work goes on
  if (style != ProgressBar::Style::Off) counter.emplace(input_options);
  ProgressBar bar(err, style, counter ? &*counter : nullptr);

  ScopedStopSignals signals;
  ClassifyOptions co = pipeline_options(common, o, plan, job, in);
  co.stop = &signals.stop();
  co.skip = resume_skip(o, recorded, job.format);
  const ClassifySummary s = classify_stream(
      *m.engine, m.preprocess, m.labels, co, inputs,
      [&](const std::vector<Record>& batch) {
        std::string bytes;
        for (Record r : batch) {
          if (job.on_record) job.on_record(r);
          if (r.predictions.size() > static_cast<size_t>(top_k)) r.predictions.resize(top_k);
          if (sink) bytes += writer.render(r);
        }
        if (sink) sink->write(bytes);
      },
      [&](const ClassifySummary& p) { bar.update(p); });
  bar.update(s, true);
  if (summary) *summary = s;
  if (inputs.skipped_by_extension() > 0)
    spdlog::info("{} skipped in the folders: not an image extension (--ext)",
                 plural(inputs.skipped_by_extension(), "file"));
  const bool lone_success = job.single && o.output.empty() && s.failed == 0 && s.skipped == 0;
  if (!common.log.quiet && !lone_success) print_summary(err, s);
  if (s.interrupted) {
    if (!job.write_records)
      spdlog::warn(
          "interrupted: the figures count the {} images done so far; to be able to stop and go on, "
          "record them with -o FILE and run again with -o FILE --resume",
          s.images);
    else if (o.output.empty() || o.output == "-")  // --resume reads back an -o FILE, never standard output
      spdlog::warn(
          "interrupted: the {} records so far are written to standard output; to be able to stop and go "
          "on, write to a file (-o FILE, json, csv or tsv) and run again with -o FILE --resume",
          s.images);
    else
      spdlog::warn("interrupted: the {} records so far are written; run again with --resume to finish", s.images);
    return static_cast<int>(ExitCode::Interrupted);
  }
  return static_cast<int>(s.failed ? ExitCode::SomeFailed : ExitCode::Ok);
}

}  // namespace vit

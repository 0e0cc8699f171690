// The classify subcommand; see include/vit/app/classify_command.h.
#include "vit/app/classify_command.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <set>
#include <thread>

#include "vit/app/exit_status.h"
#include "vit/app/model_setup.h"
#include "vit/app/process_state.h"
#include "vit/app/progress.h"
#include "vit/app/record_sink.h"
#include "vit/app/resume.h"
#include "vit/batch/pipeline.h"
#include "vit/io/files.h"

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

void print_summary(std::ostream& err, const ClassifySummary& s) {
  char buf[200];
  const std::string skipped = s.skipped ? ", " + std::to_string(s.skipped) + " skipped (already recorded)" : "";
  std::snprintf(buf, sizeof buf, "vit-classify: %zu images, %zu failed%s, %.1f s, %.2f img/s\n", s.images, s.failed,
                skipped.c_str(), s.seconds, s.seconds > 0 ? s.images / s.seconds : 0.0);
  err << buf << std::flush;
}

}  // namespace

int run_classify(const CommonOptions& common, const ClassifyCommandOptions& o, std::ostream& out, std::ostream& err,
                 std::istream* in) {
  check_classify_options(o, common);
  const Format format = common.output.format;
  InputStream inputs(input_options(o), in);
  const std::set<std::string> recorded = o.resume ? recorded_inputs(o.output, format) : std::set<std::string>{};
  const bool single = inputs.total_known() && inputs.known_total() <= 1;
  const WorkPlan plan = plan_work(common.model, o, single);
  ScopedMathThreads threads(plan.math_threads);
  const LoadedModel m = load_model(common.model);
  spdlog::info("{} worker(s) x {} math thread(s), batch size {}", plan.workers, threads.threads(), o.batch_size);

  RecordSink sink(out, o.output, o.resume);
  RecordWriter writer(format, common.output.top_k, base_name(m.engine->info().path), !single);
  if (!o.resume || sink.empty_file()) sink.write(writer.header());
  const bool tty = ::isatty(STDERR_FILENO) == 1 && &err == &std::cerr;
  const bool show = o.progress == ProgressMode::Always || (o.progress == ProgressMode::Auto && tty);
  ProgressBar bar(err, show, inputs.total_known() ? inputs.known_total() : 0);

  ScopedStopSignals signals;
  ClassifyOptions co;
  co.top_k = common.output.top_k;
  co.batch_size = o.batch_size;
  co.workers = plan.workers;
  co.fast_decode = o.fast_decode;
  co.stop = &signals.stop();
  if (o.resume) co.skip = [&](const std::string& p) { return recorded.count(record_key(p, format)) > 0; };
  const ClassifySummary s = classify_stream(
      *m.engine, m.preprocess, m.labels, co, inputs,
      [&](const std::vector<Record>& batch) {
        std::string bytes;
        for (const Record& r : batch) bytes += writer.render(r);
        sink.write(bytes);
      },
      [&](const ClassifySummary& p) { bar.update(p); });
  bar.update(s, true);
  if (!common.log.quiet && (!single || !o.output.empty())) print_summary(err, s);
  if (s.interrupted) {
    spdlog::warn("interrupted: the {} records so far are written; run again with --resume to finish", s.images);
    return static_cast<int>(ExitCode::Interrupted);
  }
  return static_cast<int>(s.failed ? ExitCode::SomeFailed : ExitCode::Ok);
}

}  // namespace vit

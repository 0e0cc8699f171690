// The eval subcommand; see include/vit/app/eval_command.h.
#include "vit/app/eval_command.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
#include <ostream>

#include "vit/app/exit_status.h"
#include "vit/app/model_setup.h"
#include "vit/app/process_state.h"
#include "vit/app/records_job.h"
#include "vit/batch/evaluation.h"
#include "vit/batch/record_reader.h"
#include "vit/errors.h"
#include "vit/io/text.h"

namespace vit {

namespace {

RecordFormat records_format(const EvalCommandOptions& o) {
  if (o.records_format) return *o.records_format;
  const std::string& f = o.job.output;
  if (ends_with(f, ".csv")) return RecordFormat::Csv;
  if (ends_with(f, ".tsv")) return RecordFormat::Tsv;
  return RecordFormat::Json;
}

void check_eval_options(const EvalCommandOptions& o) {
  if (o.job.output == "-") throw UsageError("-o -: eval prints its figures on standard output; give -o a file");
  if (o.job.resume && o.job.output.empty()) throw UsageError("--resume needs -o FILE");
  if (o.job.resume && o.job.force) throw UsageError("--resume adds to the -o file and --force replaces it: pass one");
  if (o.job.resume && records_format(o) != RecordFormat::Json)
    throw UsageError("eval --resume reads the earlier records back: use JSON records (--records-format json)");
}

std::vector<int> ranked_classes(const Record& r) {
  std::vector<int> ranked;
  for (const auto& p : r.predictions) ranked.push_back(p.index);
  return ranked;
}

// --resume: the images an earlier run recorded count as if classified now. A line that does
// not parse (a torn last line) is redone by the job, so it is not counted here.
void count_recorded(const std::string& path, EvalTally& tally) {
  std::ifstream in(path);
  size_t counted = 0;
  JsonRecord record;
  for (std::string line; std::getline(in, line);) {
    if (read_json_record(line, &record) != RecordProblem::kNone || !record.true_index) continue;
    ++counted;
    if (!record.ok)
      tally.add_failure();
    else
      tally.add(*record.true_index, record.ranked);
  }
  spdlog::info("--resume: {} images already recorded in {}", counted, path);
}

}  // namespace

int run_eval(const CommonOptions& common, const EvalCommandOptions& o, std::ostream& out, std::ostream& err) {
  check_eval_options(o);
  check_output_file(o.job);
  const WorkPlan plan = plan_work(common.model, o.job, false);
  ScopedMathThreads threads(plan.math_threads);
  const LoadedModel m = load_model(common.model);
  const LabelledSet set = LabelledSet::read(o.dataset, m.labels);
  const int k = capped_top_k(common.output.top_k, m.engine->info());
  spdlog::info("{}; {} worker(s) x {} math thread(s), batch size {}", set.description(), plan.workers,
               threads.threads(), o.job.batch_size);
  const InputOptions io = set.inputs();
  InputStream inputs(io);
  EvalTally tally(k);
  if (o.job.resume) count_recorded(o.job.output, tally);

  RecordsJob job;
  job.format = records_format(o);
  job.top_k = k;  // records hold the top-k, so that --resume can count them
  job.write_records = !o.job.output.empty();
  job.with_truth = true;
  job.on_record = [&](Record& r) {
    r.true_index = set.class_of(r.file);
    if (r.true_index >= 0) r.true_label = m.labels.name(static_cast<size_t>(r.true_index));
    if (!r.ok || r.true_index < 0)
      tally.add_failure();
    else
      tally.add(r.true_index, ranked_classes(r));
  };
  ClassifySummary s;
  const int status = run_records_job(common, o.job, plan, m, inputs, io, job, out, err, nullptr, &s);

  // No image at all (class folders without image files, a list whose rows were all recorded
  // before): an accuracy of 0 over 0 images would read as a result.
  if (status == static_cast<int>(ExitCode::Ok) && s.images == 0 && tally.report(0, 0).images == 0 &&
      tally.report(0, 0).failed == 0)
    throw UsageError("'" + o.dataset + "' holds no images to evaluate" +
                     (inputs.skipped_by_extension() > 0
                          ? " (" + std::to_string(inputs.skipped_by_extension()) +
                                " file(s) without an image extension were left out; see --ext)"
                          : std::string(" (its class folders are empty)")));
  EvalReport report = tally.report(static_cast<size_t>(o.worst), static_cast<size_t>(o.confusions));
  report.seconds = s.seconds;
  const size_t classified = s.images - s.failed;
  report.images_per_second = s.seconds > 0 ? static_cast<double>(classified) / s.seconds : 0;
  switch (o.format) {
    case ReportFormat::Json: out << eval_json(report, m.labels, set.description()).dump() << '\n'; break;
    case ReportFormat::Text: out << render_eval_text(report, m.labels, set.description()); break;
  }
  out.flush();
  // Unreadable images recorded by an earlier run (--resume) count as this run's would.
  if (status == static_cast<int>(ExitCode::Ok) && report.failed > 0) return static_cast<int>(ExitCode::SomeFailed);
  return status;
}

}  // namespace vit

// The classify subcommand; see include/vit/app/classify_command.h.
#include "vit/app/classify_command.h"

#include <spdlog/spdlog.h>

#include "vit/app/model_setup.h"
#include "vit/app/process_state.h"
#include "vit/app/records_job.h"

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

}  // namespace

int run_classify(const CommonOptions& common, const ClassifyCommandOptions& o, std::ostream& out, std::ostream& err,
                 std::istream* in) {
  check_classify_options(o, common);
  check_output_file(o);
  const InputOptions io = input_options(o);
  InputStream inputs(io, in);
  RecordsJob job;
  job.format = common.output.format;
  job.top_k = common.output.top_k;
  job.single = inputs.total_known() && inputs.known_total() <= 1;
  const WorkPlan plan = plan_work(common.model, o, job.single);
  ScopedMathThreads threads(plan.math_threads);
  const LoadedModel m = load_model(common.model);
  spdlog::info("{} worker(s) x {} math thread(s), batch size {}", plan.workers, threads.threads(), o.batch_size);
  return run_records_job(common, o, plan, m, inputs, io, job, out, err, in);
}

}  // namespace vit

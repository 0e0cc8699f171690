// The job classify and eval share: inputs stream through the batch pipeline (vit/batch/
// pipeline.h) and one record per input goes to standard output or -o FILE, with --resume,
// --force, progress on stderr, SIGINT handling and the summary line. eval adds a hook that
// sees each record (to attach the true class and count it) before it is written.
#pragma once

#include <functional>
#include <iosfwd>
#include <string>

#include "vit/app/model_setup.h"
#include "vit/app/options.h"
#include "vit/batch/inputs.h"
#include "vit/batch/pipeline.h"
#include "vit/batch/records.h"

namespace vit {

// One input: all threads go to the math. Several: one pipeline per thread (see pipeline.h),
// each with threads / workers math threads.
struct WorkPlan {
  int workers = 1, math_threads = 1;
};
WorkPlan plan_work(const ModelOptions& m, const ClassifyCommandOptions& o, bool single);

// -k capped at the model's classes (a warning on stderr, once, when it is); k itself when the
// model's classes are not known before its first batch (TorchScript).
int capped_top_k(int k, const ModelInfo& info);

// -o FILE that already holds records is replaced only with --force (or added to with --resume).
void check_output_file(const ClassifyCommandOptions& o);

struct RecordsJob {
  RecordFormat format = RecordFormat::Json;  // of the records
  int top_k = 5;                             // predictions per record
  int pipeline_top_k = 0;                    // predictions the hook sees (0 = top_k); the records keep top_k of them
  bool single = false;                       // one input: text output shows no file name, no summary on success
  bool write_records = true;                 // false: the hook alone sees the records (eval without -o)
  bool with_truth = false;                   // records carry the true class (RecordWriter::include_truth)
  std::function<void(Record&)> on_record;    // each record in input order, before it is written
};

// Runs the job over `inputs` (made from `input_options`, walked again for the progress total)
// with the loaded model; returns the exit status (exit_status.h) and fills `summary`.
int run_records_job(const CommonOptions& common, const ClassifyCommandOptions& o, const WorkPlan& plan,
                    const LoadedModel& m, InputStream& inputs, const InputOptions& input_options, const RecordsJob& job,
                    std::ostream& out, std::ostream& err, std::istream* in, ClassifySummary* summary = nullptr);

}  // namespace vit

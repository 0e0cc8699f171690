// `vit-classify eval DATASET`: top-1 / top-5 accuracy with 95% confidence intervals, speed, the
// worst classes and the most frequent confusions on a labelled set (vit/batch/evaluation.h),
// run through classify's pipeline (vit/app/records_job.h): the same workers, progress,
// SIGINT handling and --resume, and -o for the per-image records with the true class.
#pragma once

#include <iosfwd>

#include "vit/app/options.h"

namespace vit {

// Returns the exit status (exit_status.h): 0, or 1 when some images could not be read (they
// are not counted); throws the library's typed errors.
int run_eval(const CommonOptions& common, const EvalCommandOptions& o, std::ostream& out, std::ostream& err);

}  // namespace vit

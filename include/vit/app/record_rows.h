// The option table's rows for classify's inputs and for the records classify and eval write.
#pragma once

#include <vector>

#include "vit/app/option_table.h"

namespace vit::rows {

void classify_rows(std::vector<OptionRow>& t);  // the images, -r, --files-from, -0, --ext, --hidden, --shard
void records_rows(std::vector<OptionRow>& t);   // -o, --force, --resume, the pipeline's options (classify, eval)

}  // namespace vit::rows

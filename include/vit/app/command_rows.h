// The option table's rows for every subcommand's own options, in help order.
#pragma once

#include <vector>

#include "vit/app/option_table.h"

namespace vit::rows {

// classify's and the records' rows (record_rows.h), then explain's, eval's, models' and bench's.
void command_rows(std::vector<OptionRow>& t);

}  // namespace vit::rows

// Which model to use when -m is not given.
#pragma once

#include <string>

namespace vit {

// $VIT_CLASSIFY_MODEL, else the model in models/ beside the working directory, the
// executable or the source tree (a name starting with "default" first, else the first by
// name). Throws UsageError saying how to get one.
std::string default_model_path();

}  // namespace vit

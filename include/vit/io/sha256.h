// SHA-256 of a file (OpenSSL's, which uses the CPU's SHA instructions where there are some),
// so that a record can say exactly which weights made it.
#pragma once

#include <string>

namespace vit {

// Lower-case hex digest of the whole file. Throws ModelError when it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace vit

// Small file-system helpers shared by the layers above: path parts, folders, and writing a
// file so that it is never seen half-written.
#pragma once

#include <string>

namespace vit {

// "a/b/c.png" -> "c.png"; "a/b/" -> "".
std::string base_name(const std::string& path);
// "a/b/c.png" -> "a/b"; "c.png" -> ".".
std::string dir_name(const std::string& path);
bool is_directory(const std::string& path);
bool is_regular_file(const std::string& path);
bool path_exists(const std::string& path);

// Creates dir and its parents. Throws OutputError when one cannot be made or is not a folder.
void make_dirs(const std::string& dir);
// Writes bytes to path through a temporary file in the same folder and a rename. Throws OutputError.
void write_file_atomic(const std::string& path, const std::string& bytes);

}  // namespace vit

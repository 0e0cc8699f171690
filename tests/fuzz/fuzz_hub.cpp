// Fuzz target: what the hub code takes from a server or a shared cache before it becomes a path
// or a request. The first byte chooses: the file list JSON (.pth names), an ETag, an
// X-Repo-Commit value, a repository id with its revision, a file name of the listing, or a
// refs/ file read from the cache. Every accepted name must be one the cache can hold: a
// relative path with no '..' part, a 40- or 64-hex blob name, a 40-hex commit.
#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "fuzz_util.h"
#include "vit/errors.h"
#include "vit/io/hub.h"
#include "vit/io/hub_paths.h"

namespace {

// A name the checks let through that could leave the cache folder is a finding.
void require(bool ok, const char* what) {
  if (!ok) throw std::logic_error(std::string("hub check accepted a bad ") + what);
}

bool hex(const std::string& s) { return s.find_first_not_of("0123456789abcdef") == std::string::npos; }

bool no_escape(const std::string& name) {
  if (name.empty() || name[0] == '/' || name.find('\\') != std::string::npos) return false;
  if (name.find('\0') != std::string::npos) return false;
  size_t start = 0;
  while (start <= name.size()) {
    const size_t end = std::min(name.find('/', start), name.size());
    const std::string part = name.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  vit::fuzz::quiet();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string url = "https://hub.example/api/models/org/name";
  try {
    switch (data[0] % 6) {
      case 0:
        for (const std::string& name : vit::listed_pth_files(text, url)) require(no_escape(name), "listed file");
        break;
      case 1: {
        const std::string blob = vit::blob_name_from_etag(text, url);
        require((blob.size() == 40 || blob.size() == 64) && hex(blob), "ETag");
        break;
      }
      case 2: {
        const std::string commit = vit::commit_from_header(text, url);
        require(commit.size() == 40 && hex(commit), "commit");
        break;
      }
      case 3: {
        const auto ref = vit::parse_hub_reference(text);
        if (ref) require(no_escape(ref->repo_id) && ref->repo_id.find('/') != std::string::npos, "repository id");
        require(ref.has_value() == vit::hub_reference_problem(text).empty(), "reference (parse and problem disagree)");
        break;
      }
      case 4:
        if (vit::is_safe_repo_file(text)) require(no_escape(text) && text.size() <= 1024, "file name");
        require(vit::excerpt(text).size() <= 200 * 4 + 64, "excerpt length");
        break;
      default: {
        const vit::SmallFile f = vit::read_small_file(vit::fuzz::write_scratch("ref", data + 1, size - 1), 256);
        require(f.text.size() <= 256, "refs file length");
        break;
      }
    }
  } catch (const vit::Error&) {
  }
  return 0;
}

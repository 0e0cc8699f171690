// Typed options; see include/vit/app/options.h.
#include "vit/app/options.h"

#include <algorithm>
#include <cmath>

#include "vit/errors.h"
#include "vit/io/text.h"

namespace vit {

int parse_count(const std::string& s, const std::string& what) {
  try {
    size_t used = 0;
    const long v = std::stol(s, &used);
    if (used == s.size() && v > 0 && v <= 1000000) return static_cast<int>(v);
  } catch (const std::exception&) {
  }
  throw UsageError(what + ": expected a whole number from 1 to 1000000, got '" + s + "'");
}

namespace {

std::string joined(const std::vector<std::string>& items) {
  std::string s;
  for (size_t i = 0; i < items.size(); ++i) s += (i ? "," : "") + items[i];
  return s;
}

}  // namespace

std::array<float, 3> parse_triple(const std::vector<std::string>& parts, const std::string& what) {
  if (parts.size() != 1 && parts.size() != 3)
    throw UsageError(what + ": expected 1 or 3 comma-separated numbers, got '" + joined(parts) + "'");
  std::array<float, 3> v{};
  for (size_t i = 0; i < parts.size(); ++i) {
    try {
      size_t used = 0;
      v[i] = std::stof(parts[i], &used);
      if (used != parts[i].size() || !std::isfinite(v[i])) throw std::invalid_argument(parts[i]);
    } catch (const std::exception&) {
      throw UsageError(what + ": '" + parts[i] + "' is not a finite number");
    }
  }
  if (parts.size() == 1) v[1] = v[2] = v[0];
  return v;
}

ResizeSpec parse_resize(const std::string& s) {
  if (s == "none") return ResizeSpec::none();
  const auto x = s.find('x');
  ResizeSpec r;
  if (x == std::string::npos) {
    r.shorter = parse_count(s, "--resize (N, WxH or none)");
  } else {
    r.width = parse_count(s.substr(0, x), "--resize WxH: W");
    r.height = parse_count(s.substr(x + 1), "--resize WxH: H");
  }
  return r;
}

int parse_crop(const std::string& s) { return s == "none" ? 0 : parse_count(s, "--crop (N or none)"); }

Shard parse_shard(const std::string& s) {
  const auto slash = s.find('/');
  if (slash == std::string::npos) throw UsageError("--shard: expected K/N (e.g. 3/16), got '" + s + "'");
  const int k = parse_count(s.substr(0, slash), "--shard K/N: K");
  const int n = parse_count(s.substr(slash + 1), "--shard K/N: N");
  if (k > n) throw UsageError("--shard " + s + ": need 1 <= K <= N");
  return {k - 1, n};
}

DeviceSpec parse_device(const std::string& s) {
  DeviceSpec d;
  if (s == "auto") return d;
  if (s == "cpu") {
    d.kind = DeviceSpec::Kind::Cpu;
    return d;
  }
  if (s == "cuda" || s.rfind("cuda:", 0) == 0) {
    d.kind = DeviceSpec::Kind::Cuda;
    if (s.size() > 5) {
      const std::string n = s.substr(5);
      if (n.empty() || !std::all_of(n.begin(), n.end(), ::isdigit) || n.size() > 4)
        throw UsageError("--device " + s + ": expected cuda:N with N a device number");
      d.index = std::stoi(n);
    }
    return d;
  }
  throw UsageError("--device: unknown device '" + s + "' (expected auto, cpu, cuda or cuda:N)");
}

std::vector<std::string> parse_extensions(const std::vector<std::string>& items) {
  std::vector<std::string> out;
  for (std::string e : items) {
    while (!e.empty() && (e[0] == '.' || e[0] == ' ')) e.erase(0, 1);
    while (!e.empty() && e.back() == ' ') e.pop_back();
    e = ascii_lower(e);
    if (!e.empty()) out.push_back(e);
  }
  if (out.empty()) throw UsageError("--ext: no extensions in '" + joined(items) + "'");
  return out;
}

int parse_digits(const std::string& s) {
  if (s == "full" || s == "FULL") return 0;
  const int n = parse_count(s, "--digits (N or full)");
  if (n > 17) throw UsageError("--digits: at most 17 decimals (a double's), got " + s + "; full gives every digit");
  return n;
}

void check_classify_options(const ClassifyCommandOptions& o, const CommonOptions& common) {
  if (o.inputs.empty() && o.files_from.empty()) throw UsageError("no input images given (see --help)");
  if (o.null_separated && o.files_from.empty()) throw UsageError("-0 needs --files-from");
  if (o.resume && (o.output.empty() || o.output == "-")) throw UsageError("--resume needs -o FILE");
  if (o.resume && o.force) throw UsageError("--resume adds to the -o file and --force replaces it: pass one of them");
  if (o.retry_failed && !o.resume) throw UsageError("--retry-failed goes with --resume");
  if (o.resume && common.output.format == RecordFormat::Text)
    throw UsageError("--resume needs --format json, csv or tsv (text output cannot be read back)");
  const auto stdin_images = std::count(o.inputs.begin(), o.inputs.end(), "-");
  if (stdin_images > 1 || (stdin_images == 1 && o.files_from == "-"))
    throw UsageError("standard input can be read once: give '-' as one image, or --files-from -, not both");
}

}  // namespace vit

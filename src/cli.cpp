// Command-line front end; see include/vit/cli.h.
#include "vit/cli.h"

#include <dirent.h>
#include <fcntl.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>
#include <thread>

#include "vit/classify.h"
#include "vit/inputs.h"
#include "vit/cli_explain.h"
#include "vit/engine.h"
#include "vit/errors.h"
#include "vit/output.h"

namespace vit {

namespace {

const char* kFooter = R"(Examples:
  vit-classify -m models/vit_base_patch16_224.safetensors photo.jpg
  vit-classify -m model.safetensors -k 3 --format json a.jpg b.png
  vit-classify -m vit_b_16.pth --preset torchvision --threads 2 photo.jpg
  VIT_CLASSIFY_MODEL=model.safetensors vit-classify --format csv *.jpg > labels.csv
  vit-classify -m model.safetensors -r photos/ --format csv -o labels.csv
  find /data -name '*.jpg' -print0 | vit-classify -m model.safetensors --files-from - -0 --format json
  vit-classify -m model.safetensors -r /data --shard 3/16 --format json -o part-03.jsonl
  vit-classify -m model.safetensors -r /data --format json -o labels.jsonl --resume

Presets (--preset; auto picks the one the weights were trained with):
  timm         shorter side floor(S/0.9) bicubic, center crop S, mean/std 0.5
  torchvision  shorter side S*256/224 bilinear, center crop S, ImageNet mean/std
  hf           squash to SxS bilinear, mean/std 0.5
  deit         as timm, with ImageNet mean/std

Exit status:
  0  every input classified       1  some inputs failed (the others were done)
  2  bad command line             3  the model could not be loaded (file, format, device)
  4  internal error               130  interrupted (records so far are complete; use --resume))";

bool is_regular_file(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool is_model_name(const std::string& name) {
  for (const char* ext : {".safetensors", ".pth", ".pt", ".bin", ".ts"}) {
    const std::string e(ext);
    if (name.size() > e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0) return true;
  }
  return false;
}

std::vector<std::string> models_in(const std::string& dir) {
  std::vector<std::string> found;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name[0] != '.' && is_model_name(name) && is_regular_file(dir + "/" + name)) found.push_back(dir + "/" + name);
    }
    ::closedir(d);
  }
  std::sort(found.begin(), found.end());
  return found;
}

std::string exe_dir() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string p(buf, static_cast<size_t>(n));
  return p.substr(0, p.find_last_of('/'));
}

int parse_int(const std::string& s, const std::string& what) {
  try {
    size_t used = 0;
    const int v = std::stoi(s, &used);
    if (used == s.size() && v >= 0) return v;
  } catch (const std::exception&) {
  }
  throw UsageError(what + ": expected a non-negative integer, got '" + s + "'");
}

std::array<float, 3> parse_triple(const std::string& s, const std::string& what) {
  std::array<float, 3> v{};
  std::stringstream in(s);
  std::string part;
  int i = 0;
  while (std::getline(in, part, ',')) {
    if (i >= 3) break;
    try {
      size_t used = 0;
      v[i] = std::stof(part, &used);
      if (used != part.size()) throw std::invalid_argument(part);
    } catch (const std::exception&) {
      throw UsageError(what + ": '" + part + "' is not a number");
    }
    ++i;
  }
  if (i == 1) v[1] = v[2] = v[0];
  else if (i != 3 || std::getline(in, part)) throw UsageError(what + ": expected 1 or 3 comma-separated numbers, got '" + s + "'");
  return v;
}

void setup_logging(std::ostream& err, const CliOptions& o) {
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(err, true);
  auto logger = std::make_shared<spdlog::logger>("vit-classify", sink);
  logger->set_pattern("vit-classify: %l: %v");
  spdlog::level::level_enum level = spdlog::level::warn;
  if (o.quiet) level = spdlog::level::err;
  if (o.verbose == 1) level = spdlog::level::info;
  if (o.verbose >= 2) level = spdlog::level::debug;
  logger->set_level(level);
  spdlog::set_default_logger(logger);
}

// Set by SIGINT/SIGTERM: stop taking new batches, write the ones in flight, exit 130.
std::atomic<bool> g_stop{false};
extern "C" void on_stop_signal(int) { g_stop.store(true); }

// Where records go: stdout or -o FILE (appended with --resume). Each batch is one write.
class RecordSink {
 public:
  RecordSink(std::ostream& out, const std::string& path, bool append) : out_(out) {
    if (path.empty() || path == "-") return;
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0644);
    if (fd_ < 0) throw UsageError("cannot write '" + path + "': " + std::strerror(errno));
  }
  ~RecordSink() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool empty_file() const {
    struct stat st {};
    return fd_ >= 0 && ::fstat(fd_, &st) == 0 && st.st_size == 0;
  }
  void write(const std::string& bytes) {
    if (bytes.empty()) return;
    if (fd_ < 0) {
      out_.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      out_.flush();
      if (!out_) throw Error("cannot write results to standard output");
      return;
    }
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw Error(std::string("cannot write results: ") + std::strerror(errno));
      done += static_cast<size_t>(n);
    }
  }

 private:
  std::ostream& out_;
  int fd_ = -1;
};

// "[=====>     ] 4,210/9,876  41.3 img/s  ETA 2m17s" on stderr, redrawn at most 5 times a second.
class ProgressBar {
 public:
  ProgressBar(std::ostream& err, bool enabled, size_t total) : err_(err), enabled_(enabled), total_(total) {}
  void update(const ClassifySummary& s, bool final = false) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    if (!final && now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    const double rate = s.seconds > 0 ? s.images / s.seconds : 0;
    std::ostringstream line;
    line << '\r';
    if (total_ > 0) {
      const size_t width = 20, filled = std::min(width, s.images * width / total_);
      line << '[' << std::string(filled, '=') << (filled < width ? ">" : "") << std::string(width - filled - (filled < width), ' ')
           << "] " << group(s.images) << '/' << group(total_);
    } else {
      line << group(s.images) << " images";
    }
    char buf[64];
    std::snprintf(buf, sizeof buf, "  %.1f img/s", rate);
    line << buf;
    if (total_ > s.images && rate > 0) line << "  ETA " << duration(static_cast<double>(total_ - s.images) / rate);
    if (s.failed) line << "  " << s.failed << " failed";
    line << "\x1b[K";
    if (final) line << '\n';
    err_ << line.str() << std::flush;
  }

 private:
  static std::string group(size_t n) {
    std::string s = std::to_string(n);
    for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
    return s;
  }
  static std::string duration(double sec) {
    const long t = static_cast<long>(sec + 0.5);
    char buf[32];
    if (t >= 3600) std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t / 60) % 60);
    else std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
    return buf;
  }
  std::ostream& err_;
  bool enabled_;
  size_t total_;
  std::chrono::steady_clock::time_point last_{};
};

int run_classify(const CliOptions& o, std::ostream& out, std::ostream& err, std::istream* in) {
  if (o.inputs.empty() && o.files_from.empty()) throw UsageError("no input images given (see --help)");
  if (o.top_k < 1) throw UsageError("--top-k must be at least 1");
  if (o.batch_size < 1 || o.batch_size > 1024) throw UsageError("--batch-size must be between 1 and 1024");
  if (o.null_separated && o.files_from.empty()) throw UsageError("-0 needs --files-from");
  const Format format = parse_format(o.format);
  if (o.resume && (o.output.empty() || o.output == "-")) throw UsageError("--resume needs -o FILE");

  InputOptions io;
  io.paths = o.inputs;
  io.files_from = o.files_from;
  io.null_separated = o.null_separated;
  io.recursive = o.recursive;
  io.hidden = o.hidden;
  io.extensions = o.extensions.empty() ? default_extensions() : parse_extensions(o.extensions);
  if (!o.shard.empty()) std::tie(io.shard_index, io.shard_count) = parse_shard(o.shard);
  InputStream inputs(io, in);

  std::set<std::string> recorded;
  if (o.resume) recorded = recorded_inputs(o.output, o.format);

  const std::optional<Labels> user_labels = o.labels_path.empty() ? std::nullopt : std::optional<Labels>(Labels::from_file(o.labels_path));
  // One input: all threads go to the math. Several: one pipeline per core (see classify.h).
  const bool single = inputs.total_known() && inputs.known_total() <= 1;
  EngineOptions eo = engine_options(o);
  const int threads = o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (threads > 4 * cores || o.workers > 4 * cores)
    throw UsageError("--threads/--workers " + std::to_string(std::max(threads, o.workers)) + " is more than 4x the " +
                     std::to_string(cores) + " cores here");
  const int workers = o.workers > 0 ? o.workers : single ? 1 : threads;
  eo.threads = std::max(1, threads / workers);
  Engine engine(eo);
  const ModelInfo& info = engine.info();
  spdlog::info("model {} ({}, {} names): {}", info.path, info.format, info.family, info.description);
  spdlog::info("{} worker(s) x {} math thread(s), batch size {}", workers, eo.threads, o.batch_size);
  const PreprocessConfig pre = resolve_preprocess(o, info);
  spdlog::info("{}", pre.describe());
  check_preprocess_fits(pre, info.image_size);
  const Labels labels = choose_labels(user_labels, info);

  RecordSink sink(out, o.output, o.resume);
  const bool multiple = !single;
  RecordWriter writer(format, o.top_k, info.path.substr(info.path.find_last_of('/') + 1), multiple);
  if (!o.resume || sink.empty_file()) sink.write(writer.header());

  const bool tty = ::isatty(STDERR_FILENO) == 1 && &err == &std::cerr;
  ProgressBar bar(err, o.no_progress ? false : (o.progress || tty), inputs.total_known() ? inputs.known_total() : 0);

  ClassifyOptions co;
  co.top_k = o.top_k;
  co.batch_size = o.batch_size;
  co.workers = workers;
  co.fast_decode = o.fast_decode;
  co.stop = &g_stop;
  if (o.resume) co.skip = [&](const std::string& p) { return recorded.count(record_key(p, o.format)) > 0; };
  g_stop = false;
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sa.sa_flags = SA_RESETHAND;  // a second Ctrl-C kills at once
  struct sigaction old_int {}, old_term {};
  ::sigaction(SIGINT, &sa, &old_int);
  ::sigaction(SIGTERM, &sa, &old_term);
  ClassifySummary s;
  try {
    s = classify_stream(engine, pre, labels, co, inputs,
                        [&](const std::vector<Record>& batch) {
                          std::string bytes;
                          for (const Record& r : batch) bytes += writer.render(r);
                          sink.write(bytes);
                        },
                        [&](const ClassifySummary& p) { bar.update(p); });
  } catch (...) {
    ::sigaction(SIGINT, &old_int, nullptr);
    ::sigaction(SIGTERM, &old_term, nullptr);
    throw;
  }
  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGTERM, &old_term, nullptr);
  bar.update(s, true);
  if (!o.quiet && (multiple || !o.output.empty())) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "vit-classify: %zu images, %zu failed%s, %.1f s, %.2f img/s\n", s.images, s.failed,
                  s.skipped ? (", " + std::to_string(s.skipped) + " skipped (already recorded)").c_str() : "", s.seconds,
                  s.seconds > 0 ? s.images / s.seconds : 0.0);
    err << buf << std::flush;
  }
  if (s.interrupted) {
    spdlog::warn("interrupted: the {} records so far are written; run again with --resume to finish", s.images);
    return static_cast<int>(ExitCode::Interrupted);
  }
  return static_cast<int>(s.failed ? ExitCode::SomeFailed : ExitCode::Ok);
}

}  // namespace

PreprocessConfig resolve_preprocess(const CliOptions& o, const ModelInfo& info) {
  PreprocessConfig c;
  if (o.preset == "auto") {
    c = info.preprocess;
    spdlog::info("preset auto -> {} ({})", c.preset, info.preprocess_reason);
  } else {
    c = preset_config(o.preset, info.image_size);
  }
  bool changed = false;
  if (!o.resize.empty()) {
    changed = true;
    const auto x = o.resize.find('x');
    if (o.resize == "none" || o.resize == "0") {
      c.resize_short = c.resize_width = c.resize_height = 0;
    } else if (x != std::string::npos) {
      c.resize_width = parse_int(o.resize.substr(0, x), "--resize");
      c.resize_height = parse_int(o.resize.substr(x + 1), "--resize");
      c.resize_short = 0;
      if (c.resize_width == 0 || c.resize_height == 0) throw UsageError("--resize WxH: both sides must be positive");
    } else {
      c.resize_short = parse_int(o.resize, "--resize");
      c.resize_width = c.resize_height = 0;
    }
  }
  if (!o.crop.empty()) {
    changed = true;
    c.crop = o.crop == "none" ? 0 : parse_int(o.crop, "--crop");
  }
  if (!o.interpolation.empty()) {
    changed = true;
    c.interpolation = parse_interpolation(o.interpolation);
  }
  if (!o.mean.empty()) {
    changed = true;
    c.mean = parse_triple(o.mean, "--mean");
  }
  if (!o.std.empty()) {
    changed = true;
    c.std = parse_triple(o.std, "--std");
    for (float s : c.std)
      if (!(s > 0)) throw UsageError("--std: every value must be positive");
  }
  if (changed) c.preset += "+overrides";
  return c;
}

EngineOptions engine_options(const CliOptions& o) {
  EngineOptions eo;
  eo.model_path = o.model.empty() ? default_model_path() : o.model;
  eo.device = o.device;
  eo.threads = o.threads;
  eo.heads = o.heads;
  return eo;
}

Labels choose_labels(const std::optional<Labels>& user, const ModelInfo& info) {
  const Labels& labels = user ? *user : info.labels ? *info.labels : Labels::imagenet1k();
  if (info.num_classes > 0 && static_cast<size_t>(info.num_classes) != labels.size())
    spdlog::warn("the model has {} classes but the label list has {}; pass --labels FILE", info.num_classes, labels.size());
  return labels;
}

int exit_status_for_current_exception() {
  try {
    throw;
  } catch (const UsageError& e) {
    spdlog::error("{}", e.what());
    return static_cast<int>(ExitCode::Usage);
  } catch (const ModelError& e) {
    spdlog::error("{}", e.what());
    return static_cast<int>(ExitCode::ModelLoad);
  } catch (const DeviceError& e) {
    spdlog::error("{}", e.what());
    return static_cast<int>(ExitCode::ModelLoad);
  } catch (const ImageError& e) {
    spdlog::error("{}", e.what());
    return static_cast<int>(ExitCode::SomeFailed);
  } catch (const OutputError& e) {
    spdlog::error("{}", e.what());
    return static_cast<int>(ExitCode::SomeFailed);
  } catch (const std::exception& e) {
    spdlog::error("internal error: {}", e.what());
    return static_cast<int>(ExitCode::Internal);
  }
}

std::string record_key(const std::string& path, const std::string& format) {
  if (format == "json" || format == "jsonl")
    return nlohmann::json(path).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (format == "tsv") return tsv_field(path);
  return path;
}

std::set<std::string> recorded_inputs(const std::string& path, const std::string& format) {
  if (format == "text") throw UsageError("--resume needs --format json, csv or tsv (text output cannot be read back)");
  std::set<std::string> keys;
  std::ifstream in(path, std::ios::binary);
  if (!in) return keys;  // nothing recorded yet
  const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  // A record is complete only with its newline; a killed run may leave a torn last line.
  size_t complete = data.size();
  if (format == "csv") {
    // Newlines inside quoted fields do not end a record.
    bool quoted = false;
    size_t last_end = 0;
    std::string field;
    bool first_field = true, header = true;
    for (size_t i = 0; i < data.size(); ++i) {
      const char c = data[i];
      if (quoted) {
        if (c == '"' && i + 1 < data.size() && data[i + 1] == '"') {
          if (first_field) field += '"';
          ++i;
        } else if (c == '"') {
          quoted = false;
        } else if (first_field) {
          field += c;
        }
      } else if (c == '"') {
        quoted = true;
      } else if (c == ',' && first_field) {
        first_field = false;
      } else if (c == '\n') {
        if (!header) keys.insert(field);
        header = false;
        field.clear();
        first_field = true;
        last_end = i + 1;
      } else if (first_field) {
        field += c;
      }
    }
    complete = last_end;
  } else {
    complete = data.rfind('\n') == std::string::npos ? 0 : data.rfind('\n') + 1;
    std::istringstream lines(data.substr(0, complete));
    std::string line;
    bool header = format == "tsv";
    while (std::getline(lines, line)) {
      if (header) {
        header = false;
        continue;
      }
      if (format == "tsv") {
        keys.insert(line.substr(0, line.find('\t')));
      } else {
        try {
          const auto j = nlohmann::json::parse(line);
          if (j.contains("file") && j["file"].is_string())
            keys.insert(nlohmann::json(j["file"].get<std::string>()).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
        } catch (const nlohmann::json::exception&) {
          throw UsageError("--resume: '" + path + "' has a line that is not a JSON record; is it the output of another format?");
        }
      }
    }
  }
  if (complete < data.size()) {
    spdlog::warn("--resume: dropping a torn last record ({} bytes) from '{}'", data.size() - complete, path);
    if (::truncate(path.c_str(), static_cast<off_t>(complete)) != 0)
      throw UsageError("--resume: cannot truncate '" + path + "': " + std::strerror(errno));
  }
  return keys;
}

std::string default_model_path() {
  if (const char* env = std::getenv("VIT_CLASSIFY_MODEL"); env && *env) return env;
  std::vector<std::string> dirs{"models", exe_dir() + "/../models", exe_dir() + "/models", VIT_CLASSIFY_SOURCE_DIR "/models"};
  for (const auto& dir : dirs) {
    const auto found = models_in(dir);
    if (found.empty()) continue;
    for (const auto& f : found)
      if (f.substr(f.find_last_of('/') + 1).rfind("default", 0) == 0) return f;
    if (found.size() > 1) spdlog::info("several models in {}; using {} (pass -m to choose)", dir, found.front());
    return found.front();
  }
  throw UsageError("no model given: pass -m PATH (a .safetensors, .pth or TorchScript file), set VIT_CLASSIFY_MODEL, "
                   "or fetch one into models/ with scripts/fetch_models.py (needs internet)");
}

void declare_options(CLI::App& app, CliOptions& o) {
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);  // a repeated option: the last wins
  app.add_option("images", o.inputs, "Image files (and, with -r, directories) to classify");
  app.add_option("-m,--model", o.model,
                 "Weights (.safetensors, .pth) or TorchScript file; default $VIT_CLASSIFY_MODEL, else the one in models/");
  app.add_option("-k,--top-k", o.top_k, "Number of classes to show")->check(CLI::PositiveNumber);
  app.add_option("--format", o.format, "Output: text, json (one object per line), csv or tsv")
      ->check(CLI::IsMember({"text", "json", "jsonl", "csv", "tsv"}));
  app.add_option("--preset", o.preset, "Preprocessing: auto, timm, torchvision, hf or deit")
      ->check(CLI::IsMember({"auto", "timm", "torchvision", "hf", "deit"}));
  app.add_option("--resize", o.resize, "Override resize: N (shorter side), WxH (exact), or none");
  app.add_option("--crop", o.crop, "Override center crop side, or none");
  app.add_option("--interpolation", o.interpolation, "Override: nearest, bilinear, bicubic, lanczos, box, hamming")
      ->check(CLI::IsMember({"nearest", "bilinear", "bicubic", "lanczos", "box", "hamming"}));
  app.add_option("--mean", o.mean, "Override normalisation mean: R,G,B (or one value)");
  app.add_option("--std", o.std, "Override normalisation std: R,G,B (or one value)");
  app.add_option("--labels", o.labels_path, "Class names, one per line (replaces the built-in ImageNet-1k list)")
      ->check(CLI::ExistingFile);
  app.add_option("--device", o.device, "auto, cpu, cuda or cuda:N");
  app.add_option("--threads", o.threads, "Math threads (0 = all cores)")->check(CLI::NonNegativeNumber);
  app.add_option("--heads", o.heads, "Attention heads, for weights without a config.json of unusual width")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("-v,--verbose", o.verbose, "More logs on stderr (-vv for debug)");
  app.add_flag("-q,--quiet", o.quiet, "Only errors on stderr");
}

void declare_classify_options(CLI::App& app, CliOptions& o) {
  app.add_flag("-r,--recursive", o.recursive, "Classify the images in directories, and in their subdirectories");
  app.add_option("--files-from", o.files_from, "Read input paths from FILE, one per line (- = standard input)");
  app.add_flag("-0,--null", o.null_separated, "--files-from entries end with NUL (find -print0)");
  app.add_option("--ext", o.extensions, "Extensions to take from directories (default: every type OpenCV reads)");
  app.add_flag("--hidden", o.hidden, "Include hidden files and directories found in directories");
  app.add_option("--shard", o.shard, "Take the K-th of N deterministic parts of the inputs (K/N, 1-based)");
  app.add_option("-o,--output", o.output, "Write records to FILE instead of standard output");
  app.add_flag("--resume", o.resume, "Skip inputs already recorded in the -o file and append the rest");
  app.add_flag("--progress", o.progress, "Show a progress bar on stderr even when it is not a terminal");
  app.add_flag("--no-progress", o.no_progress, "Never show a progress bar")->excludes("--progress");
  app.add_option("--workers", o.workers, "Parallel pipelines (default: one per thread when there are several inputs)")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--fast-decode", o.fast_decode,
               "Decode large JPEGs at 1/2-1/8 scale (faster; pixels differ slightly from Pillow's)");
  app.add_option("--batch-size", o.batch_size, "Images per inference batch")->check(CLI::PositiveNumber);
}

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err, std::istream* in) {
  CliOptions o;
  CLI::App app{"vit-classify", "vit-classify"};
  app.description("Classify images with a Vision Transformer (ViT). Results go to stdout, logs to stderr.");
  app.footer(kFooter);
  app.set_version_flag("--version", std::string("vit-classify ") + VIT_CLASSIFY_VERSION);
  declare_options(app, o);
  declare_classify_options(app, o);
  // `explain IMAGE -o DIR`: also takes the model and preprocessing options (vit/cli_explain.h).
  ExplainCliOptions xo;
  CLI::App* explain = app.add_subcommand("explain", "Pictures of what the model looks at for one image");
  declare_options(*explain, o);
  declare_explain_options(*explain, xo);
  try {
    std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes them last-first
    app.parse(reversed);
  } catch (const CLI::CallForHelp& e) {
    out << app.help();
    return 0;
  } catch (const CLI::CallForVersion& e) {
    out << e.what() << '\n';
    return 0;
  } catch (const CLI::ParseError& e) {
    err << "vit-classify: error: " << e.what() << "\nRun with --help for usage.\n";
    return static_cast<int>(ExitCode::Usage);
  }
  setup_logging(err, o);
  if (explain->parsed()) return run_explain_command(o, xo, out);
  try {
    return run_classify(o, out, err, in);
  } catch (...) {
    return exit_status_for_current_exception();
  }
}

}  // namespace vit

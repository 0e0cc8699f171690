// option_table()'s rows for classify's inputs and for the records classify and eval write
// (-o, --force, --resume, the pipeline's options).
#include "vit/app/record_rows.h"

#include <CLI/CLI.hpp>

#include "vit/app/option_rows.h"

namespace vit::rows {

namespace {

using Strings = std::vector<std::string>;

}  // namespace

void classify_rows(std::vector<OptionRow>& t) {
  auto& c0 = t;
  c0.push_back({"images",
                "IMAGE...",
                "Image files (and, with -r, directories) to classify; - reads one from stdin",
                kClassify,
                nullptr,
                "",
                "",
                {},
                Completion::ImageOrDir,
                false,
                value<Strings>([](CommandLine& c, Command) -> Strings& { return c.classify.inputs; })});
  c0.push_back({"-r,--recursive",
                "",
                "Classify the images in directories, and in their subdirectories",
                kClassify,
                nullptr,
                "",
                "",
                {},
                Completion::None,
                false,
                flag([](CommandLine& c, Command) -> bool& { return c.classify.recursive; })});
  c0.push_back({"--files-from",
                "FILE",
                "Read input paths from FILE, one per line (- = standard input)",
                kClassify,
                nullptr,
                "",
                "",
                {},
                Completion::File,
                false,
                value<std::string>([](CommandLine& c, Command) -> std::string& { return c.classify.files_from; })});
  c0.push_back({"-0,--null",
                "",
                "--files-from entries end with NUL (find -print0)",
                kClassify,
                nullptr,
                "",
                "",
                {},
                Completion::None,
                false,
                flag([](CommandLine& c, Command) -> bool& { return c.classify.null_separated; })});
  c0.push_back({"--ext",
                "LIST",
                "Extensions to take from directories, comma-separated",
                kClassify,
                [](const CommandLine&) { return std::string(); },
                "every type OpenCV reads",
                "",
                {},
                Completion::None,
                false,
                parsed_list<Strings>([](CommandLine& c, Command) -> Strings& { return c.classify.extensions; },
                                     [](const Strings& items) { return parse_extensions(items); })});
  c0.push_back({"--hidden",
                "",
                "Include hidden files and directories found in directories",
                kClassify,
                nullptr,
                "",
                "",
                {},
                Completion::None,
                false,
                flag([](CommandLine& c, Command) -> bool& { return c.classify.hidden; })});
  c0.push_back({"--shard",
                "K/N",
                "Take the K-th of N deterministic parts of the inputs (K/N, 1-based)",
                kClassify,
                nullptr,
                "",
                "",
                {},
                Completion::None,
                false,
                parsed<Shard>([](CommandLine& c, Command) -> Shard& { return c.classify.shard; }, parse_shard)});
}

// Rows that classify and eval (its per-image records) share; --force also explain's.
void records_rows(std::vector<OptionRow>& t) {
  t.push_back({"-o,--output",
               "FILE",
               "Write the records to FILE (classify: instead of standard output; eval: the per-image records, with "
               "the true class)",
               kClassify | kEval,
               nullptr,
               "",
               "",
               {},
               Completion::File,
               false,
               value<std::string>([](CommandLine& c, Command k) -> std::string& { return job_field(c, k).output; })});
  t.push_back({"--records-format",
               "NAME",
               "Format of eval's -o records: json, csv or tsv (text cannot be read back)",
               kEval,
               [](const CommandLine&) { return std::string(); },
               "from -o's extension, else json",
               "",
               {"json", "csv", "tsv"},
               Completion::Choice,
               false,
               parsed<std::optional<RecordFormat>>(
                   [](CommandLine& c, Command) -> std::optional<RecordFormat>& { return c.eval.records_format; },
                   [](const std::string& s) -> std::optional<RecordFormat> {
                     const RecordFormat f = parse_named(record_format_names(), s, "--records-format");
                     if (f == RecordFormat::Text)
                       throw UsageError("--records-format: text records cannot be read back; use json, csv or tsv");
                     return f;
                   })});
  t.push_back({"--force",
               "",
               "Replace an -o FILE that already holds records (explain: files in the output folder)",
               kClassify | kEval | kExplain,
               nullptr,
               "",
               "",
               {},
               Completion::None,
               false,
               flag([](CommandLine& c, Command k) -> bool& {
                 return k == kExplain ? c.explain.force : job_field(c, k).force;
               })});
  t.push_back({"--resume",
               "",
               "Skip the inputs already recorded in the -o FILE and append the rest (eval: json records, counted in "
               "the figures)",
               kClassify | kEval,
               nullptr,
               "",
               "",
               {},
               Completion::None,
               false,
               flag([](CommandLine& c, Command k) -> bool& { return job_field(c, k).resume; })});
  t.push_back({"--retry-failed",
               "",
               "With --resume, also redo the inputs whose record is an error",
               kClassify,
               nullptr,
               "",
               "",
               {},
               Completion::None,
               false,
               flag([](CommandLine& c, Command) -> bool& { return c.classify.retry_failed; })});
  t.push_back({"--progress",
               "",
               "Show progress on stderr even when it is not a terminal (plain lines there)",
               kClassify | kEval,
               nullptr,
               "",
               "",
               {},
               Completion::None,
               false,
               [](CLI::App& app, const std::string& names, CommandLine& c, Command k) {
                 ClassifyCommandOptions& job = job_field(c, k);
                 return app.add_flag_callback(names, [&job] { job.progress = ProgressMode::Always; });
               }});
  t.push_back({"--no-progress",
               "",
               "Never show progress",
               kClassify | kEval,
               nullptr,
               "",
               "",
               {},
               Completion::None,
               false,
               [](CLI::App& app, const std::string& names, CommandLine& c, Command k) {
                 ClassifyCommandOptions& job = job_field(c, k);
                 return app.add_flag_callback(names, [&job] { job.progress = ProgressMode::Never; });
               }});
  t.push_back({"--workers",
               "N",
               "Parallel pipelines",
               kClassify | kEval,
               [](const CommandLine& c) { return std::to_string(c.classify.workers); },
               "one per thread when there are several inputs",
               "",
               {},
               Completion::None,
               false,
               ranged<int>([](CommandLine& c, Command k) -> int& { return job_field(c, k).workers; }, 0, 4 * cores())});
  t.push_back({"--fast-decode",
               "",
               "Decode large JPEGs at 1/2-1/8 scale (faster; pixels differ slightly from Pillow's)",
               kClassify | kEval,
               nullptr,
               "",
               "",
               {},
               Completion::None,
               false,
               flag([](CommandLine& c, Command k) -> bool& { return job_field(c, k).fast_decode; })});
  t.push_back({"--batch-size",
               "N",
               "Images per inference batch, 1 to 1024",
               kClassify | kEval,
               [](const CommandLine& c) { return std::to_string(c.classify.batch_size); },
               "",
               "",
               {},
               Completion::None,
               false,
               ranged<int>([](CommandLine& c, Command k) -> int& { return job_field(c, k).batch_size; }, 1, 1024)});
}

}  // namespace vit::rows

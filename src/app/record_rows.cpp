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
  t.push_back(Row("images", "IMAGE...", kClassify,
                  "Image files (and, with -r, directories) to classify; - reads one from stdin",
                  value<Strings>([](CommandLine& c, Command) -> Strings& { return c.classify.inputs; }))
                  .completes(Completion::ImageOrDir));
  t.push_back(Row("-r,--recursive", "", kClassify, "Classify the images in directories, and in their subdirectories",
                  flag([](CommandLine& c, Command) -> bool& { return c.classify.recursive; })));
  t.push_back(Row("--files-from", "FILE", kClassify, "Read input paths from FILE, one per line (- = standard input)",
                  value<std::string>([](CommandLine& c, Command) -> std::string& { return c.classify.files_from; }))
                  .completes(Completion::File));
  t.push_back(Row("-0,--null", "", kClassify, "--files-from entries end with NUL (find -print0)",
                  flag([](CommandLine& c, Command) -> bool& { return c.classify.null_separated; })));
  t.push_back(Row("--ext", "LIST", kClassify, "Extensions to take from directories, comma-separated",
                  parsed_list<Strings>([](CommandLine& c, Command) -> Strings& { return c.classify.extensions; },
                                       [](const Strings& items) { return parse_extensions(items); }))
                  .shows_meaning("every type OpenCV reads"));
  t.push_back(Row("--hidden", "", kClassify, "Include hidden files and directories found in directories",
                  flag([](CommandLine& c, Command) -> bool& { return c.classify.hidden; })));
  t.push_back(Row("--shard", "K/N", kClassify, "Take the K-th of N deterministic parts of the inputs (K/N, 1-based)",
                  parsed<Shard>([](CommandLine& c, Command) -> Shard& { return c.classify.shard; }, parse_shard)));
}

// Rows that classify and eval (its per-image records) share; --force also explain's.
void records_rows(std::vector<OptionRow>& t) {
  const Field<ProgressMode> progress = [](CommandLine& c, Command k) -> ProgressMode& {
    return job_field(c, k).progress;
  };
  t.push_back(Row("-o,--output", "FILE", kClassify | kEval,
                  "Write the records to FILE (classify: instead of standard output; eval: the per-image records, with "
                  "the true class)",
                  value<std::string>([](CommandLine& c, Command k) -> std::string& { return job_field(c, k).output; }))
                  .completes(Completion::File));
  t.push_back(Row("--records-format", "NAME", kEval,
                  "Format of eval's -o records: json, csv or tsv (text cannot be read back)",
                  parsed<std::optional<RecordFormat>>(
                      [](CommandLine& c, Command) -> std::optional<RecordFormat>& { return c.eval.records_format; },
                      [](const std::string& s) -> std::optional<RecordFormat> {
                        const RecordFormat f = parse_named(record_format_names(), s, "--records-format");
                        if (f == RecordFormat::Text)
                          throw UsageError("--records-format: text records cannot be read back; use json, csv or tsv");
                        return f;
                      }))
                  .shows_meaning("from -o's extension, else json")
                  .choices({"json", "csv", "tsv"}));
  t.push_back(Row("--force", "", kClassify | kEval | kExplain,
                  "Replace an -o FILE that already holds records (explain: files in the output folder)",
                  flag([](CommandLine& c, Command k) -> bool& {
                    return k == kExplain ? c.explain.force : job_field(c, k).force;
                  })));
  t.push_back(Row("--resume", "", kClassify | kEval,
                  "Skip the inputs already recorded in the -o FILE and append the rest (eval: json records, counted in "
                  "the figures)",
                  flag([](CommandLine& c, Command k) -> bool& { return job_field(c, k).resume; })));
  t.push_back(Row("--retry-failed", "", kClassify, "With --resume, also redo the inputs whose record is an error",
                  flag([](CommandLine& c, Command) -> bool& { return c.classify.retry_failed; })));
  t.push_back(Row("--progress", "", kClassify | kEval,
                  "Show progress on stderr even when it is not a terminal (plain lines there)",
                  sets(progress, ProgressMode::Always)));
  t.push_back(Row("--no-progress", "", kClassify | kEval, "Never show progress", sets(progress, ProgressMode::Never)));
  t.push_back(
      Row("--workers", "N", kClassify | kEval, "Parallel pipelines",
          ranged<int>([](CommandLine& c, Command k) -> int& { return job_field(c, k).workers; }, 0, 4 * cores()))
          .shows([](const CommandLine& c) { return std::to_string(c.classify.workers); },
                 "one per thread when there are several inputs"));
  t.push_back(Row("--fast-decode", "", kClassify | kEval,
                  "Decode large JPEGs at 1/2-1/8 scale (faster; pixels differ slightly from Pillow's)",
                  flag([](CommandLine& c, Command k) -> bool& { return job_field(c, k).fast_decode; })));
  t.push_back(Row("--batch-size", "N", kClassify | kEval, "Images per inference batch, 1 to 1024",
                  ranged<int>([](CommandLine& c, Command k) -> int& { return job_field(c, k).batch_size; }, 1, 1024))
                  .shows([](const CommandLine& c) { return std::to_string(c.classify.batch_size); }));
}

}  // namespace vit::rows

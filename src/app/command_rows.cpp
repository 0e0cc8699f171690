// option_table()'s rows for explain's pictures, eval's set and report, models and bench, and
// the list of every subcommand's rows in help order.
#include "vit/app/command_rows.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>

#include "vit/app/option_rows.h"
#include "vit/app/record_rows.h"
#include "vit/explain/attention.h"

namespace vit::rows {

namespace {

using Strings = std::vector<std::string>;

void explain_rows(std::vector<OptionRow>& t) {
  t.push_back(Row("image", "IMAGE", kExplain, "The image to explain (one)",
                  value<Strings>([](CommandLine& c, Command) -> Strings& { return c.explain.images; }))
                  .completes(Completion::File));
  t.push_back(Row("-o,--output", "DIR", kExplain, "Folder for the pictures",
                  value<std::string>([](CommandLine& c, Command) -> std::string& { return c.explain.out_dir; }))
                  .shows_meaning("IMAGE's name + -explained")
                  .completes(Completion::Dir));
  // Range, not CLI::PositiveNumber, whose message gave -1 a range up to 1.8e308 in full.
  t.push_back(
      Row("--layer", "L", kExplain, "Layer for the per-head pictures, numbered from 1",
          value<std::optional<int>>([](CommandLine& c, Command) -> std::optional<int>& { return c.explain.layer; },
                                    [](CLI::Option* o) { o->check(CLI::Range(1, 100000).description("")); }))
          .shows_meaning("the last"));
  t.push_back(Row("--head", "H", kExplain, "Head for the attention matrix picture, numbered from 1",
                  ranged<int>([](CommandLine& c, Command) -> int& { return c.explain.head; }, 1, 100000))
                  .shows([](const CommandLine& c) { return std::to_string(c.explain.head); }));
  t.push_back(
      Row("--head-fusion", "NAME", kExplain, "How rollout combines heads: " + choices(head_fusion_names()),
          named<HeadFusion>([](CommandLine& c, Command) -> HeadFusion& { return c.explain.fusion; }, head_fusion_names,
                            "--head-fusion"))
          .shows([](const CommandLine& c) { return std::string(name_of(head_fusion_names(), c.explain.fusion)); })
          .choices(words(head_fusion_names())));
  t.push_back(
      Row("--head-scale", "NAME", kExplain,
          "Per-head pictures: each panel to its own top, high-norm patches left out (panel), or one scale for all "
          "(shared)",
          named<HeadScale>([](CommandLine& c, Command) -> HeadScale& { return c.explain.head_scale; }, head_scale_names,
                           "--head-scale"))
          .shows([](const CommandLine& c) { return std::string(name_of(head_scale_names(), c.explain.head_scale)); })
          .choices(words(head_scale_names())));
  t.push_back(
      Row("--discard-ratio", "R", kExplain, "Rollout: share of the weakest attention weights dropped, in [0, 1)",
          ranged<double>([](CommandLine& c, Command) -> double& { return c.explain.discard_ratio; }, 0.0, 0.999999))
          .shows([](const CommandLine& c) { return fmt::format("{}", c.explain.discard_ratio); }));
}

void eval_rows(std::vector<OptionRow>& t) {
  t.push_back(Row("dataset", "DATASET", kEval,
                  "An ImageFolder directory (one subfolder per class, named by WordNet id, class index or label) or a "
                  ".csv/.tsv list of file,label",
                  value<std::string>([](CommandLine& c, Command) -> std::string& { return c.eval.dataset; },
                                     [](CLI::Option* o) { o->required(); }))
                  .completes(Completion::ImageOrDir));
  t.push_back(Row("--worst", "N", kEval, "Classes listed as the worst",
                  ranged<int>([](CommandLine& c, Command) -> int& { return c.eval.worst; }, 0, 1000000))
                  .shows([](const CommandLine& c) { return std::to_string(c.eval.worst); }));
  t.push_back(Row("--confusions", "N", kEval, "Most frequent confusions listed",
                  ranged<int>([](CommandLine& c, Command) -> int& { return c.eval.confusions; }, 0, 1000000))
                  .shows([](const CommandLine& c) { return std::to_string(c.eval.confusions); }));
}

void models_rows(std::vector<OptionRow>& t) {
  t.push_back(Row("--fetch", "REPO", kModels,
                  "Download a Hugging Face model ORG/NAME[@REVISION] into the cache (repeatable) before listing",
                  value<Strings>([](CommandLine& c, Command) -> Strings& { return c.models.fetch; },
                                 [](CLI::Option* o) { o->multi_option_policy(CLI::MultiOptionPolicy::TakeAll); }))
                  .completes(Completion::Repo));
}

std::string joined(const std::vector<int>& v) {
  std::string s;
  for (int n : v) s += (s.empty() ? "" : ",") + std::to_string(n);
  return s;
}

void bench_rows(std::vector<OptionRow>& t) {
  t.push_back(Row("--batch-size", "N[,N...]", kBench, "Batch sizes to time, comma-separated, each 1 to 1024",
                  parsed_list<std::vector<int>>(
                      [](CommandLine& c, Command) -> std::vector<int>& { return c.bench.batch_sizes; },
                      [](const Strings& items) {
                        std::vector<int> sizes;
                        for (const auto& s : items) sizes.push_back(parse_count(s, "--batch-size (N or N,M,...)"));
                        for (int n : sizes)
                          if (n > 1024)
                            throw UsageError("--batch-size: at most 1024 images per batch, got " + std::to_string(n));
                        return sizes;
                      }))
                  .shows([](const CommandLine& c) { return joined(c.bench.batch_sizes); }));
  t.push_back(Row("--iterations", "N", kBench, "Timed batches per batch size",
                  ranged<int>([](CommandLine& c, Command) -> int& { return c.bench.iterations; }, 0, 1000000))
                  .shows([](const CommandLine& c) { return std::to_string(c.bench.iterations); },
                         "as many as fit in --seconds"));
  t.push_back(Row("--seconds", "S", kBench, "Time per batch size when --iterations is 0 (at least 5 batches)",
                  ranged<double>([](CommandLine& c, Command) -> double& { return c.bench.seconds; }, 0.0, 3600.0))
                  .shows([](const CommandLine& c) { return fmt::format("{}", c.bench.seconds); }));
  t.push_back(Row("--warmup", "N", kBench, "Untimed batches before timing, per batch size",
                  ranged<int>([](CommandLine& c, Command) -> int& { return c.bench.warmup; }, 0, 1000))
                  .shows([](const CommandLine& c) { return std::to_string(c.bench.warmup); }));
  t.push_back(Row("--image", "FILE", kBench, "Time on this photo, preprocessed for the model",
                  value<std::string>([](CommandLine& c, Command) -> std::string& { return c.bench.image; },
                                     [](CLI::Option* o) { o->check(CLI::ExistingFile.description("")); }))
                  .shows_meaning("random inputs")
                  .completes(Completion::File));
}

}  // namespace

void command_rows(std::vector<OptionRow>& t) {
  classify_rows(t);
  records_rows(t);
  explain_rows(t);
  eval_rows(t);
  models_rows(t);
  bench_rows(t);
}

}  // namespace vit::rows

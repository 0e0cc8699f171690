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
  t.push_back({"image",
               "IMAGE",
               "The image to explain (one)",
               kExplain,
               nullptr,
               "",
               "",
               {},
               Completion::File,
               false,
               value<Strings>([](CommandLine& c, Command) -> Strings& { return c.explain.images; })});
  t.push_back({"-o,--output",
               "DIR",
               "Folder for the pictures",
               kExplain,
               [](const CommandLine&) { return std::string(); },
               "IMAGE's name + -explained",
               "",
               {},
               Completion::Dir,
               false,
               value<std::string>([](CommandLine& c, Command) -> std::string& { return c.explain.out_dir; })});
  // Range, not CLI::PositiveNumber, whose message gave -1 a range up to 1.8e308 in full.
  t.push_back({"--layer",
               "L",
               "Layer for the per-head pictures, numbered from 1",
               kExplain,
               [](const CommandLine&) { return std::string(); },
               "the last",
               "",
               {},
               Completion::None,
               false,
               value<std::optional<int>>([](CommandLine& c, Command) -> std::optional<int>& { return c.explain.layer; },
                                         [](CLI::Option* o) { o->check(CLI::Range(1, 100000).description("")); })});
  t.push_back({"--head",
               "H",
               "Head for the attention matrix picture, numbered from 1",
               kExplain,
               [](const CommandLine& c) { return std::to_string(c.explain.head); },
               "",
               "",
               {},
               Completion::None,
               false,
               ranged<int>([](CommandLine& c, Command) -> int& { return c.explain.head; }, 1, 100000)});
  t.push_back({"--head-fusion", "NAME", "How rollout combines heads: " + choices(head_fusion_names()), kExplain,
               [](const CommandLine& c) { return std::string(name_of(head_fusion_names(), c.explain.fusion)); }, "", "",
               words(head_fusion_names()), Completion::Choice, false,
               named<HeadFusion>([](CommandLine& c, Command) -> HeadFusion& { return c.explain.fusion; },
                                 head_fusion_names, "--head-fusion")});
  t.push_back({"--head-scale", "NAME",
               "Per-head pictures: each panel to its own top, high-norm patches left out (panel), or one scale for all "
               "(shared)",
               kExplain,
               [](const CommandLine& c) { return std::string(name_of(head_scale_names(), c.explain.head_scale)); }, "",
               "", words(head_scale_names()), Completion::Choice, false,
               named<HeadScale>([](CommandLine& c, Command) -> HeadScale& { return c.explain.head_scale; },
                                head_scale_names, "--head-scale")});
  t.push_back(
      {"--discard-ratio",
       "R",
       "Rollout: share of the weakest attention weights dropped, in [0, 1)",
       kExplain,
       [](const CommandLine& c) { return fmt::format("{}", c.explain.discard_ratio); },
       "",
       "",
       {},
       Completion::None,
       false,
       ranged<double>([](CommandLine& c, Command) -> double& { return c.explain.discard_ratio; }, 0.0, 0.999999)});
}

void eval_rows(std::vector<OptionRow>& t) {
  t.push_back({"dataset",
               "DATASET",
               "An ImageFolder directory (one subfolder per class, named by WordNet id, class index or label) or a "
               ".csv/.tsv list of file,label",
               kEval,
               nullptr,
               "",
               "",
               {},
               Completion::ImageOrDir,
               false,
               value<std::string>([](CommandLine& c, Command) -> std::string& { return c.eval.dataset; },
                                  [](CLI::Option* o) { o->required(); })});
  t.push_back({"--worst",
               "N",
               "Classes listed as the worst",
               kEval,
               [](const CommandLine& c) { return std::to_string(c.eval.worst); },
               "",
               "",
               {},
               Completion::None,
               false,
               ranged<int>([](CommandLine& c, Command) -> int& { return c.eval.worst; }, 0, 1000000)});
  t.push_back({"--confusions",
               "N",
               "Most frequent confusions listed",
               kEval,
               [](const CommandLine& c) { return std::to_string(c.eval.confusions); },
               "",
               "",
               {},
               Completion::None,
               false,
               ranged<int>([](CommandLine& c, Command) -> int& { return c.eval.confusions; }, 0, 1000000)});
}

void models_rows(std::vector<OptionRow>& t) {
  t.push_back({"--fetch",
               "REPO",
               "Download a Hugging Face model ORG/NAME[@REVISION] into the cache (repeatable) before listing",
               kModels,
               nullptr,
               "",
               "",
               {},
               Completion::Repo,
               false,
               value<Strings>([](CommandLine& c, Command) -> Strings& { return c.models.fetch; },
                              [](CLI::Option* o) { o->multi_option_policy(CLI::MultiOptionPolicy::TakeAll); })});
}

std::string joined(const std::vector<int>& v) {
  std::string s;
  for (int n : v) s += (s.empty() ? "" : ",") + std::to_string(n);
  return s;
}

void bench_rows(std::vector<OptionRow>& t) {
  t.push_back({"--batch-size",
               "N[,N...]",
               "Batch sizes to time, comma-separated, each 1 to 1024",
               kBench,
               [](const CommandLine& c) { return joined(c.bench.batch_sizes); },
               "",
               "",
               {},
               Completion::None,
               false,
               parsed_list<std::vector<int>>(
                   [](CommandLine& c, Command) -> std::vector<int>& { return c.bench.batch_sizes; },
                   [](const Strings& items) {
                     std::vector<int> sizes;
                     for (const auto& s : items) sizes.push_back(parse_count(s, "--batch-size (N or N,M,...)"));
                     for (int n : sizes)
                       if (n > 1024)
                         throw UsageError("--batch-size: at most 1024 images per batch, got " + std::to_string(n));
                     return sizes;
                   })});
  t.push_back({"--iterations",
               "N",
               "Timed batches per batch size",
               kBench,
               [](const CommandLine& c) { return std::to_string(c.bench.iterations); },
               "as many as fit in --seconds",
               "",
               {},
               Completion::None,
               false,
               ranged<int>([](CommandLine& c, Command) -> int& { return c.bench.iterations; }, 0, 1000000)});
  t.push_back({"--seconds",
               "S",
               "Time per batch size when --iterations is 0 (at least 5 batches)",
               kBench,
               [](const CommandLine& c) { return fmt::format("{}", c.bench.seconds); },
               "",
               "",
               {},
               Completion::None,
               false,
               ranged<double>([](CommandLine& c, Command) -> double& { return c.bench.seconds; }, 0.0, 3600.0)});
  t.push_back({"--warmup",
               "N",
               "Untimed batches before timing, per batch size",
               kBench,
               [](const CommandLine& c) { return std::to_string(c.bench.warmup); },
               "",
               "",
               {},
               Completion::None,
               false,
               ranged<int>([](CommandLine& c, Command) -> int& { return c.bench.warmup; }, 0, 1000)});
  t.push_back({"--image",
               "FILE",
               "Time on this photo, preprocessed for the model",
               kBench,
               [](const CommandLine&) { return std::string(); },
               "random inputs",
               "",
               {},
               Completion::File,
               false,
               value<std::string>([](CommandLine& c, Command) -> std::string& { return c.bench.image; },
                                  [](CLI::Option* o) { o->check(CLI::ExistingFile.description("")); })});
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

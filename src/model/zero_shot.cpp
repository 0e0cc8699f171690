// Zero-shot label vectors from a CLIP text tower; see include/vit/model/zero_shot.h.
#include "vit/model/zero_shot.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstring>

#include "vit/errors.h"
#include "vit/io/embedding_cache.h"
#include "vit/io/files.h"
#include "vit/io/hub.h"
#include "vit/io/hub_listing.h"
#include "vit/io/sha256.h"
#include "vit/io/text.h"
#include "vit/model/reduced_precision.h"
#include "vit/text/imagenet_prompts.h"
#include "vit/text/tokenizer.h"

namespace vit {

namespace {

// Most labels, templates and prompts (labels x templates) one run takes: ImageNet's 80,000
// prompts are well inside; a million prompts would take hours through a ViT-B text tower.
constexpr size_t kMaxLabels = 100'000;
constexpr size_t kMaxTemplates = 1'000;
constexpr size_t kMaxPrompts = 1'000'000;
constexpr size_t kPromptsPerStep = 1024;  // prompts between progress reports

bool is_file(const std::string& p) { return is_regular_file(p); }

// The tokenizer (see ZeroShotOptions::tokenizer), and where it came from, for logs.
text::ClipTokenizer find_tokenizer(const std::string& wanted, const std::string& weights_path, std::string* from) {
  if (!wanted.empty()) {
    *from = wanted;
    if (is_directory(wanted)) {
      if (!is_file(wanted + "/vocab.json") || !is_file(wanted + "/merges.txt"))
        throw UsageError("--tokenizer " + wanted + ": the folder has no vocab.json and merges.txt");
      return text::ClipTokenizer::from_hugging_face(wanted + "/vocab.json", wanted + "/merges.txt");
    }
    if (!is_file(wanted)) throw UsageError("--tokenizer " + wanted + ": no such file");
    if (ends_with(ascii_lower(wanted), ".json")) {
      const std::string merges = dir_name(wanted) + "/merges.txt";
      if (!is_file(merges))
        throw UsageError("--tokenizer " + wanted + ": a vocab.json needs merges.txt beside it (" + merges + ")");
      return text::ClipTokenizer::from_hugging_face(wanted, merges);
    }
    return text::ClipTokenizer::from_file(wanted);
  }
  const std::string dir = dir_name(weights_path);
  if (is_file(dir + "/vocab.json") && is_file(dir + "/merges.txt")) {
    *from = dir + "/vocab.json and merges.txt";
    return text::ClipTokenizer::from_hugging_face(dir + "/vocab.json", dir + "/merges.txt");
  }
  if (const auto cached = cached_clip_tokenizer(hub_cache_dir_from_environment())) {
    *from = cached->first + " (Hugging Face cache)";
    return text::ClipTokenizer::from_hugging_face(cached->first, cached->second);
  }
  throw ModelError(
      "a CLIP model needs its tokenizer, and there is none: no vocab.json and merges.txt beside '" + weights_path +
      "' and no CLIP tokenizer in the Hugging Face cache. Pass --tokenizer FILE: open_clip's "
      "bpe_simple_vocab_16e6.txt.gz, or a vocab.json with merges.txt beside it (as in openai/clip-vit-base-patch32)");
}

// The text tower's weights, in registration order, as a digest: names, shapes and values.
std::string tower_digest(TextTower& tower) {
  Sha256 h;
  h.update(tower->config().describe());
  for (const auto& p : tower->named_parameters()) {
    const torch::Tensor t = p.value().contiguous();
    h.update(p.key() + c10::str(t.sizes()));
    h.update(t.data_ptr(), static_cast<size_t>(t.nbytes()));
  }
  return h.hex();
}

}  // namespace

ZeroShotHead build_zero_shot_head(TextTower& tower, const std::string& weights_path, const ZeroShotOptions& o) {
  ZeroShotHead head;
  head.scale = std::exp(static_cast<double>(tower->logit_scale.item<float>()));
  const bool imagenet = o.labels.empty();
  std::vector<std::string> templates = o.templates;
  std::vector<Label> labels;
  if (imagenet) {
    const auto& names = text::imagenet_clip_class_names();
    for (size_t i = 0; i < names.size(); ++i) labels.push_back({Labels::imagenet1k().at(i).wnid, names[i]});
    if (templates.empty()) templates = text::openai_imagenet_templates();
  } else {
    for (const auto& l : o.labels) labels.push_back({"", l});
    if (templates.empty()) templates = {"{}"};
  }
  if (labels.size() > kMaxLabels)
    throw UsageError(std::to_string(labels.size()) + " labels: at most " + std::to_string(kMaxLabels));
  if (templates.size() > kMaxTemplates)
    throw UsageError(std::to_string(templates.size()) + " templates: at most " + std::to_string(kMaxTemplates));
  if (labels.size() * templates.size() > kMaxPrompts)
    throw UsageError(std::to_string(labels.size()) + " labels x " + std::to_string(templates.size()) +
                     " templates: over " + std::to_string(kMaxPrompts) + " prompts");
  std::string tokenizer_from;
  const text::ClipTokenizer tokenizer = find_tokenizer(o.tokenizer, weights_path, &tokenizer_from);
  spdlog::info("CLIP tokenizer: {}", tokenizer_from);

  // Every prompt's ids, cut after the first end-of-text token (open_clip reads the features at
  // the argmax of the ids: the first end-of-text token, the largest id).
  const auto context = static_cast<size_t>(tower->config().context);
  std::vector<std::vector<int32_t>> prompts;
  prompts.reserve(labels.size() * templates.size());
  Sha256 key;
  key.update(std::string("vit-classify zero-shot label vectors v1\n"));
  key.update(tower_digest(tower));
  for (const auto& label : labels) {
    for (const auto& t : templates) {
      std::vector<int32_t> ids = tokenizer.tokenize(text::fill_template(t, label.name), context);
      const auto eot = std::find(ids.begin(), ids.end(), tokenizer.eot());
      ids.resize(static_cast<size_t>(std::min(eot + 1, ids.end()) - ids.begin()));
      const auto n = static_cast<uint32_t>(ids.size());
      key.update(&n, sizeof n);
      key.update(ids.data(), ids.size() * sizeof(int32_t));
      prompts.push_back(std::move(ids));
    }
    key.update("\n", 1);  // a label's prompts end here
  }
  const auto K = static_cast<int64_t>(labels.size()), T = static_cast<int64_t>(templates.size());
  const int64_t E = tower->config().embed_dim;
  head.labels = Labels(labels);
  const std::string what = std::to_string(K) + (K == 1 ? " label x " : " labels x ") + std::to_string(T) +
                           (T == 1 ? " template" : " templates");
  const std::string cache_dir = o.cache ? (o.cache_dir.empty() ? embedding_cache_dir() : o.cache_dir) : "";
  const std::string cache_key = key.hex();
  if (!cache_dir.empty()) {
    if (auto cached = read_embeddings(cache_dir, cache_key, K, E)) {
      head.classes = torch::from_blob(cached->data(), {K, E}, torch::kFloat32).clone();
      head.summary = what + ", label vectors from the cache (" + cache_dir + ")";
      return head;
    }
  }
  const auto start = std::chrono::steady_clock::now();
  // The tower's linear layers on the image tower's fp32 kernels (oneDNN, weights packed once):
  // on LibTorch's product (BLAS) its many small products ran 5x slower.
  if (!o.fp32_on_libtorch) {
    PrecisionConverter converter(Precision::Fp32);
    for (const auto& m : tower->modules(/*include_self=*/false))
      if (auto* lin = dynamic_cast<LinearImpl*>(m.get())) converter.convert(*lin);
    converter.finish(0);
  }
  torch::InferenceMode guard;
  std::vector<torch::Tensor> parts;
  for (size_t at = 0; at < prompts.size(); at += kPromptsPerStep) {
    const size_t end = std::min(prompts.size(), at + kPromptsPerStep);
    std::vector<std::vector<int32_t>> step(prompts.begin() + static_cast<std::ptrdiff_t>(at),
                                           prompts.begin() + static_cast<std::ptrdiff_t>(end));
    parts.push_back(tower->forward(step));
    if (o.progress) o.progress(end, prompts.size());
  }
  // open_clip's build_zero_shot_classifier: normalise each prompt's embedding, average a
  // label's, normalise the average.
  auto emb = torch::cat(parts, 0);
  emb = emb / emb.norm(2, -1, true);
  auto classes = emb.view({K, T, E}).mean(1);
  classes = classes / classes.norm(2, -1, true);
  head.classes = classes.contiguous();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  head.summary = what + ", text tower " + fmt::format("{:.2f}", seconds) + " s";
  if (!cache_dir.empty()) {
    std::vector<float> data(head.classes.data_ptr<float>(), head.classes.data_ptr<float>() + K * E);
    if (write_embeddings(cache_dir, cache_key, K, E, data)) head.summary += ", cached in " + cache_dir;
  }
  return head;
}

torch::Tensor zero_shot_logits(const ZeroShotHead& head, const torch::Tensor& features) {
  const auto f = features.to(torch::kFloat32);
  // F.normalize: x / max(|x|, 1e-12)
  const auto unit = f / f.norm(2, -1, true).clamp_min(1e-12);
  return head.scale * torch::matmul(unit, head.classes.to(f.device()).t());
}

}  // namespace vit

// Zero-shot classification with a CLIP model: the labels a user types (or ImageNet's classes
// with OpenAI's 80 prompt templates) through the text tower once, into one unit vector per
// label; an image's logits are then scale * cos(image embedding, label vector), as open_clip's
// build_zero_shot_classifier and its zero-shot evaluation compute them. The label vectors are
// cached on disk (vit/io/embedding_cache.h) keyed by the text tower's weights and the prompts'
// token ids.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "vit/io/labels.h"
#include "vit/model/clip_text.h"
#include "vit/model/engine.h"

namespace vit {

struct ZeroShotHead {
  torch::Tensor classes;  // (K, E): each label's prompt embeddings, normalised, averaged, normalised
  double scale = 100;     // exp(logit_scale)
  Labels labels;          // the K labels (ImageNet's with their WordNet ids)
  std::string summary;    // "3 labels x 1 template, text tower 0.12 s" or "... from the cache"
};

// Throws UsageError for labels or templates that cannot be used (empty, a template without
// "{}", invalid UTF-8, too many), ModelError when no tokenizer is found or it does not fit the
// text tower.
ZeroShotHead build_zero_shot_head(TextTower& tower, const std::string& weights_path, const ZeroShotOptions& o);

// features (n, E) image embeddings -> (n, K) logits: scale * normalize(features) classes^T.
torch::Tensor zero_shot_logits(const ZeroShotHead& head, const torch::Tensor& features);

}  // namespace vit

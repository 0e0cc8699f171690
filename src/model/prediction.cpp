// Top-k classes; see include/vit/model/prediction.h.
#include "vit/model/prediction.h"

#include <algorithm>
#include <numeric>

namespace vit {

std::vector<Prediction> top_k(const float* probs, int classes, int k, const Labels& labels, const float* logits) {
  k = std::max(0, std::min(k, classes));
  std::vector<int> idx(static_cast<size_t>(classes));
  std::iota(idx.begin(), idx.end(), 0);
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(),
                    [&](int a, int b) { return probs[a] != probs[b] ? probs[a] > probs[b] : a < b; });
  std::vector<Prediction> out;
  const bool named = labels.size() == static_cast<size_t>(classes);
  for (int i = 0; i < k; ++i) {
    const auto c = static_cast<size_t>(idx[i]);
    out.push_back(
        {idx[i], named ? labels.name(c) : "class " + std::to_string(c), probs[idx[i]], logits ? logits[idx[i]] : 0.0f});
  }
  return out;
}

}  // namespace vit

// What a classifier's probabilities mean to a reader: the k most probable classes, named.
#pragma once

#include <string>
#include <vector>

#include "vit/io/labels.h"

namespace vit {

struct Prediction {
  int index = 0;
  std::string label;
  float probability = 0;
  float logit = 0;  // the model's raw score, when top_k was given the logits
};

// The k most probable classes of one row of probabilities, best first (ties: lower index),
// named from labels only when the list has exactly `classes` names: a list of another length
// belongs to another model, so its names would be wrong; then the label is "class N".
// logits (the same row before softmax), when given, fill each prediction's logit.
std::vector<Prediction> top_k(const float* probs, int classes, int k, const Labels& labels,
                              const float* logits = nullptr);

}  // namespace vit

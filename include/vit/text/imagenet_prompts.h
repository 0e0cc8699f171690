// CLIP's ImageNet-1k zero-shot table as OpenAI evaluated it: a short, prompt-friendly name for
// each class ("crane bird", "construction crane") and the 80 prompt templates whose embeddings
// are averaged per class. Our own copy, compiled in from src/text/imagenet_zero_shot.tsv and
// src/text/openai_imagenet_templates.txt (tests/test_zero_shot_table.cpp checks it against open_clip).
#pragma once

#include <string>
#include <vector>

namespace vit::text {

// The 1000 names, in ImageNet-1k index order (sorted WordNet ids, as vit's built-in labels,
// vit::Labels::imagenet1k()). Two pairs of classes share a name, as in OpenAI's list.
const std::vector<std::string>& imagenet_clip_class_names();
// Their WordNet ids ("n01440764", ...), index for index.
const std::vector<std::string>& imagenet_clip_wnids();
// OpenAI's 80 templates ("a bad photo of a {}.", ...), each holding "{}" once.
const std::vector<std::string>& openai_imagenet_templates();

// `tmpl` with every "{}" replaced by `label` as written: no case change, no escapes, and the
// label is not searched again ("{}" in a label stays). "{}" alone is the label itself; other
// braces are plain text. Throws UsageError naming the template when it holds no "{}".
std::string fill_template(const std::string& tmpl, const std::string& label);

}  // namespace vit::text

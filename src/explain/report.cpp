// `explain`'s output folder; see include/vit/explain/report.h.
#include "vit/explain/report.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "vit/errors.h"
#include "vit/explain/figures.h"
#include "vit/io/files.h"

namespace vit {

namespace {

std::string png_bytes(const cv::Mat& bgr) {
  std::vector<uchar> buf;
  if (!cv::imencode(".png", bgr, buf)) throw OutputError("cannot encode a PNG picture");
  return std::string(buf.begin(), buf.end());
}

std::string html_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

std::string layer_file(int layer1, const std::string& what) {
  return "attention/layer" + std::to_string(layer1) + what;
}

// The numbers the pictures show, for one layer and head.
struct Numbers {
  int layer = 0;  // 0-based
  std::vector<float> cls, matrix, rollout, similarity;
  std::vector<bool> high_norm;  // (N) patches with high-norm tokens
};

std::string index_html(const ExplainOptions& o, const AttentionTrace& trace, const Numbers& n, const ExplainResult& r,
                       const std::vector<std::string>& names, int side, int patch) {
  const int layer = n.layer, g = trace.grid;
  const std::string L = std::to_string(layer + 1), H = std::to_string(o.head + 1), S = std::to_string(side);
  const std::string reader = reader_name(trace);
  const std::string registers =
      trace.registers ? " The model's " + std::to_string(trace.registers) +
                            " register token(s) take part in attention but are not patches: they are left out of "
                            "the patch maps and shown in the attention matrix."
                      : "";
  const std::string layers_note = trace.layers_note.empty() ? "" : " " + trace.layers_note + ".";
  const std::vector<std::pair<std::string, std::string>> captions{
      {"The model's input",
       "The " + S + "x" + S +
           " picture after resizing and cropping, before normalisation: exactly what the model sees."},
      {"Patches", "The input cut into " + std::to_string(g) + "x" + std::to_string(g) + " patches of " +
                      std::to_string(patch) + " px. Each becomes one token, read row by row after the prefix tokens (" +
                      token_legend(trace) + ")." + registers},
      {"Position embeddings",
       "Cosine similarity of each patch's learned position embedding with every other patch's. "
       "Bright spots near each map's own position mean the model learned where patches are."},
      {"Attention per head, layer " + L,
       "How much " + reader + " (what the classifier reads) attends to each patch in layer " + L +
           ", one panel per head, " +
           (o.head_scale == HeadScale::Panel
                ? std::string("each on its own colour scale up to its largest weight on an ordinary patch; the "
                              "outlined high-norm patches (token norm over twice the median, where ViTs keep "
                              "global information: Darcet et al. 2023) are left out of the scale and saturate.")
                : std::string("on one shared colour scale; high-norm patches outlined.")) +
           layers_note},
      {"Attention matrix, layer " + L + " head " + H,
       "All " + std::to_string(trace.tokens) + "x" + std::to_string(trace.tokens) +
           " attention weights of that head: row = the token that looks, column = the token it looks at."},
      {"Attention rollout",
       std::string("Attention combined through all ") + std::to_string(trace.layers) + " layers (heads fused by " +
           head_fusion_name(o.fusion) +
           ", identity added for the skip "
           "connections): which patches the information " +
           reader + " carries comes from." + layers_note +
           " Scaled so the top "
           "patch is 1. "
           "Bright corners or plain-background patches are usually not about the object: ViTs store "
           "global information in a few unimportant tokens (Darcet et al. 2023, Vision Transformers Need Registers)."},
      {"Prediction", "The top " + std::to_string(r.top.size()) + " classes with their probabilities."},
  };
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>vit-classify explain: " +
      html_escape(o.image_name) +
      "</title>\n<style>body{font-family:sans-serif;max-width:1200px;margin:1em auto;padding:0 1em}"
      "figure{margin:1.5em 0}img{max-width:100%;border:1px solid #ddd}figcaption{color:#333;margin-top:.4em}</style>\n"
      "</head>\n<body>\n<h1>What the model looks at</h1>\n<p>Image <code>" +
      html_escape(o.image_name) + "</code>, model <code>" + html_escape(o.model_name) + "</code>";
  if (!r.top.empty())
    html += ": <b>" + html_escape(std::to_string(r.top[0].index) + " " + r.top[0].label) + "</b> (" +
            percent(r.top[0].probability) + ")";
  html += ".</p>\n";
  for (size_t i = 0; i < captions.size(); ++i)
    html += "<figure>\n<h2>" + html_escape(captions[i].first) + "</h2>\n<img src=\"" + names[i] + "\" alt=\"" +
            html_escape(captions[i].first) + "\">\n<figcaption>" + html_escape(captions[i].second) +
            "</figcaption>\n</figure>\n";
  html += "</body>\n</html>\n";
  return html;
}

std::string explain_json(const ExplainOptions& o, const AttentionTrace& trace, const Numbers& n, const ExplainResult& r,
                         int side, int patch) {
  const int layer = n.layer, g = trace.grid;
  const auto& cls = n.cls;
  const auto& rollout = n.rollout;
  const auto& similarity = n.similarity;
  nlohmann::json j;
  j["image"] = o.image_name;
  j["model"] = o.model_name;
  j["image_size"] = side;
  j["patch_size"] = patch;
  j["grid"] = g;
  j["layers"] = trace.layers;
  j["heads"] = trace.heads;
  j["prefix_tokens"] = trace.prefix;
  j["register_tokens"] = trace.registers;
  j["readout"] = reader_name(trace);
  if (!trace.layers_note.empty()) j["attention_layers"] = trace.layers_note;
  for (const auto& p : r.top)
    j["predictions"].push_back({{"index", p.index}, {"label", p.label}, {"probability", p.probability}});
  j["head_scale"] = name_of(head_scale_names(), o.head_scale);
  for (size_t i = 0; i < n.high_norm.size(); ++i)
    if (n.high_norm[i]) j["high_norm_patches"].push_back(i + 1);
  j["layer"] = layer + 1;
  const size_t N = static_cast<size_t>(g) * g;
  for (int h = 0; h < trace.heads; ++h)
    j["cls_attention"].push_back(std::vector<float>(cls.begin() + static_cast<std::ptrdiff_t>(h * N),
                                                    cls.begin() + static_cast<std::ptrdiff_t>((h + 1) * N)));
  j["rollout"] = {{"head_fusion", head_fusion_name(o.fusion)},
                  {"discard_ratio", o.discard_ratio},
                  {"grid", nlohmann::json::array()}};
  for (int rr = 0; rr < g; ++rr)
    j["rollout"]["grid"].push_back(std::vector<float>(rollout.begin() + rr * g, rollout.begin() + (rr + 1) * g));
  for (size_t i = 0; i < N; ++i)
    j["position_similarity"].push_back(
        std::vector<float>(similarity.begin() + static_cast<std::ptrdiff_t>(i * N),
                           similarity.begin() + static_cast<std::ptrdiff_t>((i + 1) * N)));
  j["notes"] =
      "layer and heads are numbered from 1; cls_attention[h][n] is head h+1's attention from the readout (the class "
      "token, or the readout's mix of tokens for models without one) to patch n+1 (reading order); rollout grid is "
      "[row][column], divided by its maximum; position_similarity is (N, N)";
  return j.dump() + "\n";
}

}  // namespace

std::vector<std::string> explain_files(const ExplainOptions& o, int layers) {
  const int layer1 = (o.layer < 0 ? layers - 1 : o.layer) + 1;
  std::vector<std::string> f{"input.png",
                             "patches.png",
                             "position_embedding.png",
                             layer_file(layer1, "_heads.png"),
                             layer_file(layer1, "_head" + std::to_string(o.head + 1) + "_matrix.png"),
                             "rollout.png",
                             "result.png",
                             "index.html"};
  if (o.json) f.push_back("explain.json");
  return f;
}

void check_explain(const ExplainOptions& o, int layers, int heads) {
  if (o.layer < -1 || o.layer >= layers)
    throw UsageError("--layer " + std::to_string(o.layer + 1) + " is out of range: this model has " +
                     std::to_string(layers) + " layers, numbered 1 to " + std::to_string(layers));
  if (o.head < 0 || o.head >= heads)
    throw UsageError("--head " + std::to_string(o.head + 1) + " is out of range: this model has " +
                     std::to_string(heads) + " heads per layer, numbered 1 to " + std::to_string(heads));
  if (!(o.discard_ratio >= 0 && o.discard_ratio < 1))
    throw UsageError("--discard-ratio must be at least 0 and below 1, got " + std::to_string(o.discard_ratio));
  if (o.out_dir.empty()) throw UsageError("no output folder: pass -o DIR");
  if (o.force) return;
  std::vector<std::string> existing;
  for (const auto& f : explain_files(o, layers))
    if (path_exists(o.out_dir + "/" + f)) existing.push_back(f);
  if (!existing.empty()) {
    std::string list;
    for (size_t i = 0; i < existing.size() && i < 4; ++i) list += (i ? ", " : "") + existing[i];
    if (existing.size() > 4) list += ", ...";
    throw UsageError("'" + o.out_dir + "' already holds " + std::to_string(existing.size()) +
                     " of the files explain writes (" + list +
                     "); pass --force to replace them, or choose another folder with -o");
  }
}

ExplainResult run_explain(const cv::Mat& rgb, const AttentionTrace& trace, int patch, const Labels& labels,
                          const ExplainOptions& o) {
  check_trace(trace);
  check_explain(o, trace.layers, trace.heads);
  if (rgb.cols != trace.grid * patch || rgb.rows != trace.grid * patch)
    throw UsageError("explain: the input is " + std::to_string(rgb.cols) + "x" + std::to_string(rgb.rows) +
                     " but the model reads " + std::to_string(trace.grid) + "x" + std::to_string(trace.grid) +
                     " patches of " + std::to_string(patch) + " px; use the model's own crop");
  Numbers n;
  n.layer = o.layer < 0 ? trace.layers - 1 : o.layer;
  n.cls = readout_attention(trace, n.layer);
  n.matrix = attention_matrix(trace, n.layer, o.head);
  n.rollout = attention_rollout(trace, o.fusion, o.discard_ratio);
  n.similarity = position_similarity(trace);
  n.high_norm = high_norm_patches(trace);
  ExplainResult r;
  r.top = top_k(trace.probabilities.data(), static_cast<int>(trace.probabilities.size()), o.top_k, labels);

  // Pictures, then the files, all in memory before anything is written.
  const int g = trace.grid, layer1 = n.layer + 1;
  const auto names = explain_files(o, trace.layers);
  std::vector<std::string> data{
      png_bytes(draw_input(rgb, o.preprocess).bgr),
      png_bytes(draw_patches(rgb, patch).bgr),
      png_bytes(draw_position_similarity(n.similarity, g).bgr),
      png_bytes(
          draw_head_attention(rgb, n.cls, trace.heads, g, layer1, o.head_scale, n.high_norm, reader_name(trace)).bgr),
      png_bytes(draw_attention_matrix(n.matrix, trace.tokens, token_legend(trace), layer1, o.head + 1).bgr),
      png_bytes(draw_rollout(rgb, n.rollout, g, o.fusion, o.discard_ratio, trace.layers, reader_name(trace)).bgr),
      png_bytes(draw_result(rgb, r.top).bgr),
      index_html(o, trace, n, r, names, rgb.cols, patch),
  };
  if (o.json) data.push_back(explain_json(o, trace, n, r, rgb.cols, patch));

  make_dirs(o.out_dir);
  make_dirs(o.out_dir + "/attention");
  for (size_t i = 0; i < names.size(); ++i) {
    write_file_atomic(o.out_dir + "/" + names[i], data[i]);
    spdlog::info("wrote {}/{}", o.out_dir, names[i]);
  }
  r.files = names;
  return r;
}

}  // namespace vit

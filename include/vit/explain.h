// `vit-classify explain`: what a ViT looks at, from one image's AttentionTrace. Pure
// computations (attention rollout, position-embedding similarity, the class token's attention)
// testable without files; one drawing function per picture, each returning an image; and
// run_explain, which writes the pictures, index.html and explain.json into a folder.
// No torch headers here: the trace is plain floats.
#pragma once

#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "vit/engine.h"
#include "vit/errors.h"
#include "vit/labels.h"
#include "vit/output.h"

namespace vit {

// How attention rollout combines a layer's heads.
enum class HeadFusion { Mean, Max, Min };
HeadFusion parse_head_fusion(const std::string& s);  // throws UsageError
const char* head_fusion_name(HeadFusion f);

// Attention rollout (Abnar & Zuidema 2020), as jacobgil/vit-explain's vit_rollout.py: per layer
// fuse the heads, zero the lowest discard_ratio fraction of the fused (T, T) entries (never
// entry (0, 0), the class token to itself), average with the identity, divide each row by its
// sum, and multiply layer by layer. Returns the class token's row over the patches, (grid,
// grid) row-major, divided by its maximum. Throws UsageError for a ratio outside [0, 1).
std::vector<float> attention_rollout(const AttentionTrace& t, HeadFusion fusion, double discard_ratio);

// Cosine similarity of every patch's position embedding with every other's: (N, N) row-major,
// the prefix tokens' rows (class, distillation) left out.
std::vector<float> position_similarity(const AttentionTrace& t);

// The class token's attention over the patches in block `layer` (0-based): (heads, N).
std::vector<float> cls_attention(const AttentionTrace& t, int layer);
// The full attention matrix of one head in one block (both 0-based): (T, T), rows = queries.
std::vector<float> attention_matrix(const AttentionTrace& t, int layer, int head);

// A picture and where its panels are (tiles, maps), for tests and captions.
struct Figure {
  cv::Mat bgr;                    // 8-bit BGR
  std::vector<cv::Rect> panels;   // in reading order
};

// rgb: the model's 8-bit input, (S, S) CV_8UC3 in RGB order.
Figure draw_input(const cv::Mat& rgb, const std::string& preprocess);
Figure draw_patches(const cv::Mat& rgb, int patch);
Figure draw_position_similarity(const std::vector<float>& similarity, int grid);
// cls: (heads, N) from cls_attention; layer and head numbers as shown to people (1-based).
Figure draw_head_attention(const cv::Mat& rgb, const std::vector<float>& cls, int heads, int grid, int layer1);
Figure draw_attention_matrix(const std::vector<float>& matrix, int tokens, int prefix, int grid, int layer1, int head1);
Figure draw_rollout(const cv::Mat& rgb, const std::vector<float>& rollout, int grid, HeadFusion fusion,
                    double discard_ratio, int layers);
Figure draw_result(const cv::Mat& rgb, const std::vector<Prediction>& top);

struct ExplainOptions {
  std::string out_dir;
  int layer = -1;  // 0-based block; -1 = the last
  int head = 0;    // 0-based head for the attention matrix
  HeadFusion fusion = HeadFusion::Mean;
  double discard_ratio = 0;
  bool force = false;   // replace existing files
  bool json = false;    // also explain.json
  int top_k = 5;
  std::string image_name;   // for captions
  std::string model_name;
  std::string preprocess;   // PreprocessConfig::describe()
};

// The files run_explain writes, relative to out_dir, for a model with `layers` blocks.
std::vector<std::string> explain_files(const ExplainOptions& o, int layers);
// Throws UsageError when layer or head is out of range for the model, or when one of the files
// exists already and o.force is false. Writes nothing.
void check_explain(const ExplainOptions& o, int layers, int heads);

struct ExplainResult {
  std::vector<Prediction> top;       // best first
  std::vector<std::string> files;    // written, relative to out_dir
};

// Draws every picture and writes them, index.html and (o.json) explain.json into o.out_dir
// (created if missing). Each file is written under a temporary name and renamed, so none is
// ever half-written. rgb: the model input (8-bit RGB, S x S). Throws UsageError (see
// check_explain), OutputError.
ExplainResult run_explain(const cv::Mat& rgb, const AttentionTrace& trace, int patch, const Labels& labels,
                          const ExplainOptions& o);

// Writes bytes to path through a temporary file in the same folder and a rename. Throws OutputError.
void write_file_atomic(const std::string& path, const std::string& bytes);

}  // namespace vit

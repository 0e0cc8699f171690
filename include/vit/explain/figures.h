// One drawing function per picture of `explain`, each returning an image (and where its
// panels are, for tests). Pure: nothing here touches files.
#pragma once

#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "vit/explain/attention.h"
#include "vit/model/prediction.h"

namespace vit {

// A picture and where its panels are (tiles, maps), for tests and captions.
struct Figure {
  cv::Mat bgr;                   // 8-bit BGR
  std::vector<cv::Rect> panels;  // in reading order
};

// rgb: the model's 8-bit input, (S, S) CV_8UC3 in RGB order.
Figure draw_input(const cv::Mat& rgb, const std::string& preprocess);
Figure draw_patches(const cv::Mat& rgb, int patch);
Figure draw_position_similarity(const std::vector<float>& similarity, int grid);
// cls: (heads, N) from readout_attention; reader: reader_name(); layer and head numbers as
// shown to people (1-based); high_norm: (N) patches outlined and, with HeadScale::Panel, left
// out of each panel's scale.
Figure draw_head_attention(const cv::Mat& rgb, const std::vector<float>& cls, int heads, int grid, int layer1,
                           HeadScale scale, const std::vector<bool>& high_norm, const std::string& reader);
// legend: token_legend()
Figure draw_attention_matrix(const std::vector<float>& matrix, int tokens, const std::string& legend, int layer1,
                             int head1);
Figure draw_rollout(const cv::Mat& rgb, const std::vector<float>& rollout, int grid, HeadFusion fusion,
                    double discard_ratio, int layers, const std::string& reader);
Figure draw_result(const cv::Mat& rgb, const std::vector<Prediction>& top);

// "81.3%"
std::string percent(double p);

// Axis ticks for 0..count-1 at round numbers (0, 25, 50, ... for 197 tokens): at most 8.
std::vector<int> round_ticks(int count);

}  // namespace vit

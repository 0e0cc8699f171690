// The numbers behind `explain`, from one image's AttentionTrace, as pure functions testable
// without files: attention rollout, position-embedding similarity, the class token's
// attention and one head's attention matrix.
#pragma once

#include <string>
#include <vector>

#include "vit/model/engine.h"
#include "vit/vocabulary.h"

namespace vit {

// How attention rollout combines a layer's heads.
enum class HeadFusion { Mean, Max, Min };
const Vocabulary<HeadFusion>& head_fusion_names();  // mean, max, min
const char* head_fusion_name(HeadFusion f);

// How the per-head pictures scale their colours: each panel to its own largest weight on an
// ordinary patch (high-norm patches left out), or all panels to the largest weight overall.
enum class HeadScale { Panel, Shared };
const Vocabulary<HeadScale>& head_scale_names();  // panel, shared

// Patches whose token leaves the last block with over twice the median patch norm: the
// high-norm "scratch space" tokens of Darcet et al. 2023 that soak up attention. (N) flags;
// all false when the trace has no norms.
std::vector<bool> high_norm_patches(const AttentionTrace& t);

// The top of a panel's colour scale: the largest of row's n values outside `excluded` (all
// of them when every patch is excluded), at least 1e-6.
float panel_scale(const float* row, size_t n, const std::vector<bool>& excluded);

// What the head reads, for captions: the trace's readout ("the class token", "the mean of the
// patch tokens ..."), "the class token" when it does not say.
std::string reader_name(const AttentionTrace& t);
// Which token is which: "Token 0 = class token, tokens 1-4 = registers, token n+4 = patch n".
std::string token_legend(const AttentionTrace& t);

// Throws Error when the trace's sizes do not agree with each other.
void check_trace(const AttentionTrace& t);

// Attention rollout (Abnar & Zuidema 2020), as jacobgil/vit-explain's vit_rollout.py: per layer
// fuse the heads, zero the lowest discard_ratio fraction of the fused (T, T) entries (never
// entry (0, 0), the class token to itself, when there is one), average with the identity,
// divide each row by its sum, and multiply layer by layer. Returns the row the head reads (the
// class token's; for models without one, the readout weights' mix of rows) over the patches,
// (grid, grid) row-major, divided by its maximum. Throws UsageError for a ratio outside [0, 1).
std::vector<float> attention_rollout(const AttentionTrace& t, HeadFusion fusion, double discard_ratio);

// Cosine similarity of every patch's position embedding with every other's: (N, N) row-major,
// the prefix tokens' rows (class, distillation, registers) left out.
std::vector<float> position_similarity(const AttentionTrace& t);

// The attention over the patches in block `layer` (0-based) of the token the head reads: the
// class token's row, or for models without one the readout weights' mix of rows (the mean of
// the patch tokens' rows for average pooling): (heads, N).
std::vector<float> readout_attention(const AttentionTrace& t, int layer);
// The full attention matrix of one head in one block (both 0-based): (T, T), rows = queries.
std::vector<float> attention_matrix(const AttentionTrace& t, int layer, int head);

}  // namespace vit

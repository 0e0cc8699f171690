// What the files published beside the weights say about the model: config.json (Hugging
// Face's, or timm's hub config with its pretrained_cfg) and preprocessor_config.json.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "vit/image/preprocess.h"
#include "vit/io/labels.h"
#include "vit/model/config.h"

namespace vit {

// What open_clip_config.json says of a CLIP model (open_clip's model_cfg and preprocess_cfg).
struct ClipHints {
  int64_t vision_heads = 0;          // width / head_width (open_clip's default head_width: 64); 0 = unknown
  int64_t text_heads = 0;            // text_cfg.heads; 0 = unknown
  bool quick_gelu = false;           // OpenAI's models: x * sigmoid(1.702 x) in both towers
  bool vision_avg_pool = false;      // vision_cfg.pool_type 'avg' (else 'tok')
  bool final_ln_after_pool = false;  // vision_cfg.final_ln_after_pool: ln_post on the pooled vector
  int64_t image_size = 0;            // vision_cfg.image_size; 0 = from the position embeddings
  // Settings of open_clip's that this tool does not run, each "key value" as written: the
  // loader refuses the model naming the first.
  std::vector<std::string> unsupported;
  std::string path;  // the file, for messages
};

// What the config files tell that the tensors cannot: each field unset when they are silent.
struct ModelHints {
  int64_t heads = 0;  // 0 = unknown
  std::optional<double> eps;
  std::optional<Pool> pool;        // timm's global_pool
  std::optional<Activation> act;   // timm act_layer / architecture, HF hidden_act
  std::optional<BlockKind> block;  // timm ResPostBlock architectures
  std::string architecture;        // timm's architecture name, or HF's model_type
  // timm eva.py's model_args (rope settings, ...), each value as JSON text: read by read_eva.
  std::map<std::string, std::string> eva_args;
  std::optional<bool> xcit_tokens_norm;  // XCiT: timm tokens_norm (model_args or the architecture)
  // The side the published preprocessing feeds, when the model resamples its position
  // embeddings to it as its library does on load (timm's pretrained_cfg input_size, Hugging
  // Face Dinov2's crop); 0 = run at the grid the position embeddings were stored at.
  int64_t input_size = 0;
  std::optional<Labels> labels;
  std::optional<PreprocessConfig> preprocess;  // the preprocessing the authors published
  // ... when it is timm's pretrained_cfg (a preprocessor_config.json beside it wins, as before)
  std::optional<TimmEvalConfig> timm_eval;
  std::optional<ClipHints> clip;     // open_clip_config.json
  std::vector<std::string> sources;  // files read, for logs
};

// Reads <dir of weights>/config.json, preprocessor_config.json and open_clip_config.json where
// present (open_clip's preprocess_cfg is the preprocessing of open_clip_* weights).
// Throws ModelError for invalid JSON or fields of the wrong type.
ModelHints read_model_hints(const std::string& weights_path);

}  // namespace vit

// The inference engine: loads a model (native ViT from weights, or a TorchScript module) onto
// a device, chooses the preprocessing the model was trained with, and turns batches of
// preprocessed images into probabilities. No torch types in this header, so the layers above
// compile without LibTorch's headers. Threads are the caller's (see runtime.h).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vit/image/preprocess.h"
#include "vit/io/labels.h"
#include "vit/model/precision.h"

namespace vit {

// --device: auto (CUDA device 0 if there is one, else the CPU), cpu, or CUDA device `index`.
struct DeviceSpec {
  enum class Kind { Auto, Cpu, Cuda };
  Kind kind = Kind::Auto;
  int index = 0;
  std::string describe() const;  // "auto", "cpu", "cuda:1"
};

// CLIP models: the labels the text tower turns into the classifier (see zero_shot.h).
struct ZeroShotOptions {
  std::vector<std::string> labels;     // empty: ImageNet-1k's classes with OpenAI's 80 templates
  std::vector<std::string> templates;  // each with "{}" for the label; empty: "{}" (the label as typed)
  // --tokenizer: open_clip's merges file (bpe_simple_vocab_16e6.txt.gz, or unpacked), a
  // Hugging Face vocab.json with merges.txt beside it, or a folder holding both. "": vocab.json
  // and merges.txt beside the weights, else a CLIP tokenizer in the Hugging Face cache.
  std::string tokenizer;
  bool cache = true;                                        // read and write the label vectors' cache
  std::string cache_dir;                                    // "": embedding_cache_dir()
  std::function<void(size_t done, size_t total)> progress;  // prompts through the text tower so far
  bool fp32_on_libtorch = false;  // the text tower's linear layers on LibTorch's product (as EngineOptions')
};

struct EngineOptions {
  std::string model_path;
  DeviceSpec device;
  int heads = 0;       // --heads: attention heads for weights whose count nothing else tells
  int image_size = 0;  // --image-size: run at this side, position embeddings resampled (0 = the model's own)
  Precision precision = Precision::Fp32;  // --precision: bf16 and int8 on the CPU, native ViT weights only
  // fp32 on the CPU: the linear layers on LibTorch's own product (BLAS), as PyTorch runs them,
  // instead of oneDNN's float32 matmul (faster, the same arithmetic). The app sets it from
  // $VIT_CLASSIFY_FP32_KERNEL=libtorch.
  bool fp32_on_libtorch = false;
  // --deterministic: each image's products on their own (LinearImpl::per_image), so that its
  // numbers are the same bits in any batch, shard, resume or thread count; slower at batch 8.
  bool batch_invariant = false;
  ZeroShotOptions zero_shot;  // read for CLIP models only
};

struct ModelInfo {
  std::string path;
  std::string format;       // safetensors | pytorch | torchscript
  std::string family;       // timm | torchvision | hf | unknown
  std::string description;  // "ViT D=192 depth=12 ..." or "TorchScript module"
  std::string device;       // "cpu", "cuda:0"
  std::string precision = "fp32";
  std::string kernels;  // what runs the linear layers, and why ("int8 oneDNN gemm:jit ..."); "" for fp32
  int image_size = 224;
  int num_classes = 0;       // 0 until known (TorchScript: after the first batch)
  int patch_size = 0;        // 0 when unknown (TorchScript)
  int depth = 0, heads = 0;  // attention layers (explain's) and heads per layer; 0 when unknown (TorchScript)
  bool can_explain = false;
  PreprocessConfig preprocess;    // what "--preset auto" means for this model
  std::string preprocess_reason;  // why that preset was chosen
  std::optional<Labels> labels;   // from config.json, when it has them; a CLIP model's zero-shot labels
  // CLIP: the classes are labels scored by the text tower (ZeroShotOptions), each image's
  // logits scale * cos(image embedding, label vector).
  bool zero_shot = false;
  int embed_dim = 0;              // the joint image-text space's width
  std::string zero_shot_summary;  // "3 labels x 1 template, text tower 0.12 s"
};

// Attention of one image through every block, for `explain`.
struct AttentionTrace {
  int layers = 0, heads = 0, tokens = 0;  // tokens T = prefix + N
  // The prefix tokens before the patches, in this order: class token (0 or 1), distillation
  // token (0 or 1), registers (0 or more).
  int class_tokens = 1, dist_tokens = 0, registers = 0;
  int prefix = 1;                // their sum
  int grid = 0;                  // patches per side
  std::vector<float> attention;  // (layers, heads, T, T) softmax weights
  // What the layers are when they are not the encoder's blocks (XCiT: its class-attention
  // blocks, its XCA blocks having no token x token weights); "" for a ViT.
  std::string layers_note;
  // How the head reads the last block's tokens: a weight per token (T), summing to 1. The
  // class token (1 on token 0), the mean of the patch tokens, or an attention pool's weights
  // (mean over its heads); readout says which in words.
  std::vector<float> readout_weights;
  std::string readout;
  std::vector<float> pos_embed;  // (pos_prefix + N, D) learned position embeddings
  int pos_prefix = 1;            // prefix tokens with a position embedding (0 for DeiT-III, *_reg*)
  int dim = 0;
  std::vector<float> logits;         // (classes)
  std::vector<float> probabilities;  // (classes), as Engine::probabilities gives them
  std::vector<float> token_norms;    // (T) L2 norm of each token after the last block
};

// n rows of logits (row-major) to probabilities: the one softmax behind classify and explain.
std::vector<float> probabilities_of_logits(std::vector<float> logits, int n);

class Engine {
 public:
  explicit Engine(const EngineOptions& options);  // throws ModelError, DeviceError
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  const ModelInfo& info() const;
  // batch: n images, each (3, S, S) normalised floats, contiguous. Returns (n, classes) row-major.
  // Safe to call from several threads at once (the batch workers do).
  std::vector<float> logits(const float* batch, int n);
  std::vector<float> probabilities(const float* batch, int n);  // probabilities_of_logits(logits(batch, n), n)
  // One image (3, S, S): logits and every block's attention weights. Throws ModelError for
  // TorchScript modules, whose internals cannot be asked for attention.
  AttentionTrace trace_attention(const float* image);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vit

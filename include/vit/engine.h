// The inference engine behind the CLI: loads a model (native ViT from weights, or a
// TorchScript module), picks the device and thread count, chooses the preprocessing the
// model was trained with, and turns batches of preprocessed images into probabilities.
// No torch types in this header, so front ends compile without LibTorch's headers.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vit/labels.h"
#include "vit/preprocess.h"

namespace vit {

struct EngineOptions {
  std::string model_path;
  std::string device = "auto";  // auto | cpu | cuda | cuda:N
  int threads = 0;              // math threads; 0 = all cores
  int heads = 0;                // override attention heads (weights without a config.json)
};

struct ModelInfo {
  std::string path;
  std::string format;       // safetensors | pytorch | torchscript
  std::string family;       // timm | torchvision | hf | unknown
  std::string description;  // "ViT D=192 depth=12 ..." or "TorchScript module"
  std::string device;       // "cpu", "cuda:0"
  int image_size = 224;
  int num_classes = 0;      // 0 until known (TorchScript: after the first batch)
  int patch_size = 0;       // 0 when unknown (TorchScript)
  bool can_explain = false;
  PreprocessConfig preprocess;     // what "--preset auto" means for this model
  std::string preprocess_reason;   // why that preset was chosen
  std::optional<Labels> labels;    // from config.json, when it has them
};

// Attention of one image through every block, for `explain`.
struct AttentionTrace {
  int layers = 0, heads = 0, tokens = 0;  // tokens T = prefix + N
  int prefix = 1;                         // 1 (class token) or 2 (DeiT distilled)
  int grid = 0;                           // patches per side
  std::vector<float> attention;           // (layers, heads, T, T) softmax weights
  std::vector<float> pos_embed;           // (T, D) learned position embeddings
  int dim = 0;
  std::vector<float> logits;              // (classes)
};

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
  std::vector<float> probabilities(const float* batch, int n);
  // One image (3, S, S): logits and every block's attention weights. Throws ModelError for
  // TorchScript modules, whose internals cannot be asked for attention.
  AttentionTrace trace_attention(const float* image);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Chooses the preprocessing for "auto": the published config beside the weights, else the
// family's own (timm, torchvision, hf; Facebook DeiT files and distilled models: deit).
PreprocessConfig auto_preprocess(const std::string& family, bool deit, int image_size,
                                 const std::optional<PreprocessConfig>& published, std::string* reason);

// Path of the library that provides sgemm_ (the BLAS LibTorch calls), and whether it is the
// slow reference implementation.
std::string blas_library_path();
bool blas_is_reference(const std::string& path);

// Whether this build's LibTorch can use a CUDA device now.
bool cuda_available();

// Threads for math (LibTorch intra-op); returns the number in effect.
int set_math_threads(int threads);

}  // namespace vit

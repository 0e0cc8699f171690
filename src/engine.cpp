// Inference engine: native ViT or TorchScript; see include/vit/engine.h.
#include "vit/engine.h"

#include <dlfcn.h>
#include <malloc.h>
#include <spdlog/spdlog.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <climits>
#include <mutex>
#include <cstdlib>
#include <thread>

#include "vit/errors.h"
#include "vit/model.h"
#include "vit/weights.h"

namespace vit {

std::string blas_library_path() {
  void* sym = dlsym(RTLD_DEFAULT, "sgemm_");
  Dl_info info{};
  if (!sym || !dladdr(sym, &info) || !info.dli_fname) return "";
  char resolved[PATH_MAX];
  if (realpath(info.dli_fname, resolved)) return resolved;
  return info.dli_fname;
}

bool blas_is_reference(const std::string& path) {
  // Debian installs the reference BLAS as .../blas/libblas.so.3; OpenBLAS, BLIS and MKL
  // live under their own names.
  return path.find("/blas/libblas.so") != std::string::npos;
}

bool cuda_available() { return torch::cuda::is_available(); }

int set_math_threads(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);  // LibTorch starts with 1 intra-op thread on some machines
  return at::get_num_threads();
}

PreprocessConfig auto_preprocess(const std::string& family, bool deit, int image_size,
                                 const std::optional<PreprocessConfig>& published, std::string* reason) {
  std::string why;
  PreprocessConfig c;
  if (published) {
    c = *published;
    why = "published with the weights";
  } else if (deit) {
    c = preset_config("deit", image_size);
    why = "DeiT checkpoint";
  } else if (family == "torchvision" || family == "timm" || family == "hf") {
    c = preset_config(family, image_size);
    why = family + " tensor names";
  } else {
    c = preset_config("torchvision", image_size);
    why = "unknown family, ImageNet default; pass --preset if the model was trained otherwise";
  }
  if (reason) *reason = why;
  return c;
}

namespace {

// glibc serves blocks above its mmap threshold with mmap and unmaps them on free, so every
// batch maps and unmaps its activations (tens of MB) again: 5% system time for ViT-B/16 here.
// Keeping such blocks on the heap, and the heap from shrinking, gave +6% throughput.
void tune_allocator() {
  static const bool done = [] {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);   // the largest value glibc accepts on 64-bit
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
    return true;
  }();
  (void)done;
}

torch::Device pick_device(const std::string& want) {
  if (want == "cpu") return torch::kCPU;
  if (want == "auto") return torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  if (want == "cuda" || want.rfind("cuda:", 0) == 0) {
    if (!at::hasCUDA())
      throw DeviceError("--device " + want + ": this build's LibTorch has no CUDA support (Debian's libtorch is "
                        "CPU-only); rebuild vit-classify against a CUDA LibTorch, or use --device cpu");
    const int64_t count = static_cast<int64_t>(torch::cuda::device_count());
    int64_t index = 0;
    if (want.size() > 5) {
      try {
        index = std::stoll(want.substr(5));
      } catch (const std::exception&) {
        throw UsageError("--device " + want + ": expected cuda:N");
      }
    }
    if (count == 0) throw DeviceError("--device " + want + ": no CUDA device is visible (driver missing or CUDA_VISIBLE_DEVICES empty?)");
    if (index < 0 || index >= count)
      throw DeviceError("--device " + want + ": only " + std::to_string(count) + " CUDA device(s) visible");
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  throw UsageError("unknown device '" + want + "' (expected auto, cpu, cuda or cuda:N)");
}

// Family and geometry of a TorchScript module, read from its parameter names and shapes.
void inspect_torchscript(torch::jit::Module& m, ModelInfo& info) {
  std::vector<std::string> names;
  std::map<std::string, torch::Tensor> params;
  for (const auto& p : m.named_parameters(true)) {
    names.push_back(p.name);
    params[p.name] = p.value;
  }
  info.family = "unknown";
  try {
    info.family = family_name(detect_family(names));
  } catch (const ModelError&) {
    return;
  }
  torch::Tensor patch, pos;
  for (const auto& kv : params) {
    const std::string& n = kv.first;
    auto ends = [&](const std::string& s) { return n.size() >= s.size() && n.compare(n.size() - s.size(), s.size(), s) == 0; };
    if (ends("patch_embed.proj.weight") || ends("conv_proj.weight") || ends("patch_embeddings.projection.weight")) patch = kv.second;
    if (ends("pos_embed") || ends("encoder.pos_embedding") || ends("embeddings.position_embeddings")) pos = kv.second;
  }
  if (patch.defined() && pos.defined() && patch.dim() == 4) {
    info.patch_size = static_cast<int>(patch.size(2));
    const int64_t tokens = pos.size(pos.dim() - 2);
    for (int64_t prefix : {1, 2}) {
      const auto g = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(tokens - prefix))));
      if (g * g == tokens - prefix) {
        info.image_size = static_cast<int>(g * patch.size(2));
        break;
      }
    }
  }
}

}  // namespace

struct Engine::Impl {
  ModelInfo info;
  torch::Device device{torch::kCPU};
  VisionTransformer vit{nullptr};
  std::optional<torch::jit::Module> script;
  std::mutex mu;  // guards info updates made while workers run batches

  torch::Tensor to_input(const float* batch, int n) const {
    const int64_t s = info.image_size;
    auto t = torch::from_blob(const_cast<float*>(batch), {n, 3, s, s}, torch::kFloat32);
    return device.is_cpu() ? t : t.to(device);
  }

  torch::Tensor forward(const torch::Tensor& x) {
    if (vit) return vit->forward(x);
    torch::jit::IValue out = script->forward({x});
    if (out.isTensor()) return out.toTensor();
    if (out.isTuple() && !out.toTupleRef().elements().empty() && out.toTupleRef().elements()[0].isTensor())
      return out.toTupleRef().elements()[0].toTensor();
    if (out.isGenericDict()) {
      auto d = out.toGenericDict();
      if (d.contains("logits") && d.at("logits").isTensor()) return d.at("logits").toTensor();
    }
    throw ModelError("the TorchScript module's forward returned " + out.tagKind() +
                     "; expected a logits tensor (B, classes), a tuple starting with one, or a dict with 'logits'");
  }
};

Engine::Engine(const EngineOptions& o) : impl_(std::make_unique<Impl>()) {
  ModelInfo& info = impl_->info;
  info.path = o.model_path;
  const std::string blas = blas_library_path();
  if (blas_is_reference(blas))
    spdlog::warn("LibTorch is using the reference BLAS ({}), about 20x slower than OpenBLAS: "
                 "install libopenblas0-openmp (scripts/setup.sh does)", blas);
  else
    spdlog::debug("BLAS: {}", blas.empty() ? "unknown" : blas);
  tune_allocator();
  const int threads = set_math_threads(o.threads);
  spdlog::debug("math threads: {}", threads);
  impl_->device = pick_device(o.device);
  info.device = impl_->device.str();

  const FileFormat format = detect_format(o.model_path);
  info.format = format_name(format);
  if (format == FileFormat::TorchScript) {
    try {
      impl_->script = torch::jit::load(o.model_path, impl_->device);
    } catch (const c10::Error& e) {
      throw ModelError("cannot load TorchScript module '" + o.model_path + "': " + e.what_without_backtrace());
    }
    impl_->script->eval();
    inspect_torchscript(*impl_->script, info);
    info.description = "TorchScript module (" + info.family + " parameter names, " + std::to_string(info.image_size) + " px)";
    const ModelHints hints = read_model_hints(o.model_path);
    info.labels = hints.labels;
    info.preprocess = auto_preprocess(info.family, false, info.image_size, hints.preprocess, &info.preprocess_reason);
    return;
  }
  const ModelHints hints = read_model_hints(o.model_path);
  for (const auto& s : hints.sources) spdlog::info("read {}", s);
  LoadedViT loaded = load_vit(o.model_path, hints, o.heads);
  impl_->vit = loaded.model;
  if (!impl_->device.is_cpu()) impl_->vit->to(impl_->device);
  const ViTConfig& cfg = impl_->vit->config();
  info.family = family_name(loaded.family);
  info.description = cfg.describe();
  info.image_size = static_cast<int>(cfg.image_size);
  info.patch_size = static_cast<int>(cfg.patch_size);
  info.num_classes = static_cast<int>(cfg.num_classes);
  info.can_explain = true;
  info.labels = hints.labels;
  const bool deit = cfg.distilled || loaded.wrapper_key == "model";
  info.preprocess = auto_preprocess(info.family, deit, info.image_size, hints.preprocess, &info.preprocess_reason);
}

Engine::~Engine() = default;

const ModelInfo& Engine::info() const { return impl_->info; }

std::vector<float> Engine::logits(const float* batch, int n) {
  torch::InferenceMode guard;
  torch::Tensor out;
  try {
    out = impl_->forward(impl_->to_input(batch, n)).to(torch::kCPU, torch::kFloat32).contiguous();
  } catch (const c10::Error& e) {
    throw ModelError(std::string("inference failed: ") + e.what_without_backtrace());
  }
  if (out.dim() != 2 || out.size(0) != n)
    throw ModelError("the model returned shape " + c10::str(out.sizes()) + " for a batch of " + std::to_string(n) +
                     "; expected (batch, classes)");
  if (impl_->info.num_classes == 0) {  // TorchScript: learnt from the first batch
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->info.num_classes = static_cast<int>(out.size(1));
  }
  return std::vector<float>(out.data_ptr<float>(), out.data_ptr<float>() + out.numel());
}

std::vector<float> Engine::probabilities(const float* batch, int n) {
  std::vector<float> l = logits(batch, n);
  torch::InferenceMode guard;
  auto t = torch::from_blob(l.data(), {n, static_cast<int64_t>(l.size()) / n}, torch::kFloat32).softmax(1).contiguous();
  return std::vector<float>(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
}

AttentionTrace Engine::trace_attention(const float* image) {
  if (!impl_->vit)
    throw ModelError("this model is a TorchScript module: its forward() returns only logits, and the attention "
                     "weights inside it cannot be asked for. Use the weights file (safetensors or .pth) to explain");
  torch::InferenceMode guard;
  std::vector<torch::Tensor> attn;
  auto logits = impl_->vit->forward_with_attention(impl_->to_input(image, 1), attn).to(torch::kCPU).contiguous();
  const ViTConfig& cfg = impl_->vit->config();
  AttentionTrace t;
  t.layers = static_cast<int>(attn.size());
  t.heads = static_cast<int>(cfg.heads);
  t.prefix = static_cast<int>(cfg.num_prefix_tokens());
  t.grid = static_cast<int>(cfg.grid());
  t.tokens = static_cast<int>(cfg.num_prefix_tokens() + cfg.num_patches());
  t.dim = static_cast<int>(cfg.dim);
  auto all = torch::stack(attn, 0).squeeze(1).to(torch::kCPU).contiguous();  // (L, heads, T, T)
  t.attention.assign(all.data_ptr<float>(), all.data_ptr<float>() + all.numel());
  auto pos = impl_->vit->pos_embed.detach().squeeze(0).to(torch::kCPU).contiguous();  // (T, D)
  t.pos_embed.assign(pos.data_ptr<float>(), pos.data_ptr<float>() + pos.numel());
  t.logits.assign(logits.data_ptr<float>(), logits.data_ptr<float>() + logits.numel());
  return t;
}

}  // namespace vit

// Inference engine: native ViT or TorchScript; see include/vit/model/engine.h.
#include "vit/model/engine.h"

#include <spdlog/spdlog.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <algorithm>
#include <mutex>

#include "vit/errors.h"
#include "vit/io/checkpoint_format.h"
#include "vit/io/files.h"
#include "vit/model/config.h"
#include "vit/model/hints.h"
#include "vit/model/names.h"
#include "vit/model/reduced_precision.h"
#include "vit/model/runtime.h"
#include "vit/model/vision_transformer.h"
#include "vit/model/weights.h"
#include "vit/model/zero_shot.h"

namespace vit {

std::string DeviceSpec::describe() const {
  switch (kind) {
    case Kind::Auto: return "auto";
    case Kind::Cpu: return "cpu";
    case Kind::Cuda: return "cuda:" + std::to_string(index);
  }
  return "?";
}

namespace {

torch::Device pick_device(const DeviceSpec& want) {
  switch (want.kind) {
    case DeviceSpec::Kind::Cpu: return torch::kCPU;
    case DeviceSpec::Kind::Auto: return cuda_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
    case DeviceSpec::Kind::Cuda: break;  // checked below
  }
  const std::string what = "--device " + want.describe();
  if (!cuda_compiled())
    throw DeviceError(what +
                      ": this build's LibTorch has no CUDA support (Debian's libtorch is "
                      "CPU-only); rebuild vit-classify against a CUDA LibTorch, or use --device cpu");
  const int count = cuda_device_count();
  if (count == 0)
    throw DeviceError(what + ": no CUDA device is visible (driver missing or CUDA_VISIBLE_DEVICES empty?)");
  if (want.index < 0 || want.index >= count)
    throw DeviceError(what + ": only " + std::to_string(count) + " CUDA device(s) visible");
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(want.index));
}

// The preprocessing "auto" means: the published config beside the weights, else the family's
// own (DeiT checkpoints and distilled models: deit), else torchvision's ImageNet default.
PreprocessConfig auto_preprocess(const std::optional<Family>& family, bool deit, int image_size,
                                 const std::optional<PreprocessConfig>& published, std::string* reason) {
  if (published) {
    *reason = "published with the weights";
    return *published;
  }
  if (deit) {
    *reason = "DeiT checkpoint";
    return preset_config(Preset::Deit, image_size);
  }
  if (!family) {
    *reason = "unknown family, ImageNet default; pass --preset if the model was trained otherwise";
    return preset_config(Preset::Torchvision, image_size);
  }
  *reason = std::string(family_name(*family)) + " tensor names";
  return preset_config(family_facts(*family).preset, image_size);
}

// The published preprocessing for a model run at `side`: timm's pretrained_cfg recomputed for
// that side. When --image-size asked for the side, another config is kept only if it already
// feeds that side (else the family's preset at that side, and a log line saying why); when it
// did not, the config is kept as published (a mismatch is then reported before any image).
std::optional<PreprocessConfig> published_at(const ModelHints& hints, int side, bool side_from_user) {
  if (hints.timm_eval) {
    PreprocessConfig c = timm_eval_preprocess(*hints.timm_eval, side);
    c.preset = hints.preprocess ? hints.preprocess->preset : c.preset;
    return c;
  }
  if (!hints.preprocess || !side_from_user) return hints.preprocess;
  const auto out = output_size(*hints.preprocess);
  if (out && out->first == side && out->second == side) return hints.preprocess;
  spdlog::info("the published preprocessing ({}) does not give {}x{} images: using the family's preset",
               hints.preprocess->describe(), side, side);
  return std::nullopt;
}

// Family and geometry of a TorchScript module, read from its parameter names and shapes.
std::optional<Family> inspect_torchscript(torch::jit::Module& m, ModelInfo& info) {
  std::vector<std::string> names;
  for (const auto& p : m.named_parameters(true)) names.push_back(p.name);
  std::optional<Family> family;
  try {
    family = detect_family(names);
  } catch (const ModelError&) {
    return std::nullopt;
  }
  torch::Tensor patch, pos;
  for (const auto& p : m.named_parameters(true)) {
    if (is_patch_embed(*family, p.name)) patch = p.value;
    if (is_pos_embed(*family, p.name)) pos = p.value;
  }
  if (!patch.defined() || !pos.defined() || patch.dim() != 4) return family;
  info.patch_size = static_cast<int>(patch.size(2));
  const int64_t tokens = pos.size(pos.dim() - 2);
  for (int64_t prefix : {1, 2}) {
    if (const int64_t g = grid_side(tokens, prefix)) {
      info.image_size = static_cast<int>(g * patch.size(2));
      break;
    }
  }
  return family;
}

// The scripted submodule at a dotted path ("visual.transformer.resblocks.0.attn"); none
// where the module has no such attribute.
std::optional<torch::jit::Module> scripted_submodule(const torch::jit::Module& m, const std::string& path) {
  try {
    torch::jit::Module at = m;
    for (size_t start = 0; start < path.size();) {
      const size_t dot = std::min(path.find('.', start), path.size());
      at = at.attr(path.substr(start, dot - start)).toModule();
      start = dot + 1;
    }
    return at;
  } catch (const c10::Error&) {
    return std::nullopt;
  }
}

// The head count a scripted nn.MultiheadAttention keeps (open_clip's and OpenAI's CLIP); 0
// when there is none.
int64_t scripted_heads(const torch::jit::Module& m, const std::string& path) {
  const auto at = scripted_submodule(m, path);
  if (!at || !at->hasattr("num_heads")) return 0;
  const auto heads = at->attr("num_heads");
  return heads.isInt() ? heads.toInt() : 0;
}

// Whether the scripted block's MLP activation is a QuickGELU module (OpenAI's CLIP, open_clip's
// quick_gelu models), from its class name.
bool scripted_quick_gelu(const torch::jit::Module& m, const std::string& path) {
  const auto at = scripted_submodule(m, path);
  return at && at->type()->name() && at->type()->name()->name() == "QuickGELU";
}

// Rows of logits to probabilities: the one softmax behind classify and explain.
torch::Tensor softmax_rows(const torch::Tensor& logits) { return logits.softmax(1).contiguous(); }

std::vector<float> to_vector(const torch::Tensor& t) {
  const torch::Tensor c = t.to(torch::kCPU, torch::kFloat32).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

// The zero-shot options with the fp32 kernel choice the image tower gets.
ZeroShotOptions with_kernel_choice(const EngineOptions& o) {
  ZeroShotOptions z = o.zero_shot;
  z.fp32_on_libtorch = o.fp32_on_libtorch;
  return z;
}

}  // namespace

struct Engine::Impl {
  ModelInfo info;
  torch::Device device{torch::kCPU};
  VisionTransformer vit{nullptr};
  std::optional<ZeroShotHead> zero_shot;  // CLIP: the label vectors the image embeddings are scored against
  std::optional<torch::jit::Module> script;
  std::mutex mu;  // guards info updates made while workers run batches

  torch::Tensor to_input(const float* batch, int n) const {
    const int64_t s = info.image_size;
    auto t = torch::from_blob(const_cast<float*>(batch), {n, 3, s, s}, torch::kFloat32);
    return device.is_cpu() ? t : t.to(device);
  }

  // The image tower's output to logits: a CLIP model's embeddings scored against its labels.
  torch::Tensor readout(const torch::Tensor& out) const { return zero_shot ? zero_shot_logits(*zero_shot, out) : out; }

  torch::Tensor forward(const torch::Tensor& x) {
    if (vit) return readout(vit->forward(x));
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

  // A TorchScript file: run as exported, unless it holds a CLIP model (OpenAI's original .pt
  // files are TorchScript archives of the whole model): then its parameters and buffers are
  // read as a state dict into the native towers, and true is returned.
  bool load_torchscript(const std::string& path, const ModelHints& hints, const LoadOptions& options,
                        const ZeroShotOptions& zero_shot_options) {
    try {
      script = torch::jit::load(path, torch::kCPU);
    } catch (const c10::Error& e) {
      throw ModelError("cannot load TorchScript module '" + path + "': " + e.what_without_backtrace());
    } catch (const std::exception& e) {  // a damaged archive can fail outside c10's checks
      throw ModelError("cannot load TorchScript module '" + path + "': " + e.what());
    }
    std::vector<std::string> names;
    for (const auto& p : script->named_parameters(true)) names.push_back(p.name);
    std::optional<Family> two_towers;
    try {
      const Family f = detect_family(names);
      if (family_facts(f).two_towers) two_towers = f;
    } catch (const ModelError&) {
    }
    if (two_towers) {
      RawCheckpoint raw;
      raw.format = FileFormat::TorchScript;
      for (const auto& p : script->named_parameters(true)) raw.tensors[p.name] = p.value.detach();
      for (const auto& b : script->named_buffers(true)) {
        if (b.value.is_floating_point())
          raw.tensors[b.name] = b.value;
        else
          raw.unsupported[b.name] = c10::toString(b.value.scalar_type());
      }
      // Without open_clip_config.json beside it, the heads are what the scripted attention keeps
      // and the activation the scripted MLP's class.
      ModelHints with_heads = hints;
      ClipHints clip = hints.clip ? *hints.clip : ClipHints{};
      if (!hints.clip) clip.quick_gelu = scripted_quick_gelu(*script, "visual.transformer.resblocks.0.mlp.gelu");
      if (clip.vision_heads == 0) clip.vision_heads = scripted_heads(*script, "visual.transformer.resblocks.0.attn");
      if (clip.text_heads == 0) clip.text_heads = scripted_heads(*script, "transformer.resblocks.0.attn");
      with_heads.clip = clip;
      script.reset();
      load_native_from(std::move(raw), path, with_heads, options, Precision::Fp32, false, zero_shot_options);
      return true;
    }
    if (!device.is_cpu()) script->to(device);
    script->eval();
    const std::optional<Family> family = inspect_torchscript(*script, info);
    if (!family)
      throw ModelError("'" + path + "' is a TorchScript module but not a Vision Transformer: none of its " +
                       std::to_string(names.size()) + " parameters (" + quoted_names(names, 4) +
                       ") is a timm, torchvision or Hugging Face ViT's patch embedding, nor open_clip's or Hugging "
                       "Face's CLIP's");
    info.family = family_name(*family);
    info.description =
        "TorchScript module (" + info.family + " parameter names, " + std::to_string(info.image_size) + " px)";
    info.preprocess = auto_preprocess(family, false, info.image_size, hints.preprocess, &info.preprocess_reason);
    return false;
  }

  // --precision bf16|int8 is for the native model on the CPU (oneDNN kernels): checked before
  // anything loads.
  void check_precision(Precision p, FileFormat format) const {
    if (p == Precision::Fp32) return;
    const std::string what = std::string("--precision ") + precision_name(p);
    if (format == FileFormat::TorchScript)
      throw UsageError(what + ": '" + info.path +
                       "' is a TorchScript module, whose layers run as exported and cannot be given other kernels; "
                       "use the weights file (safetensors or .pth), or --precision fp32");
    if (!device.is_cpu())
      throw UsageError(what + " runs on the CPU (oneDNN kernels); on " + info.device + " use --precision fp32");
  }

  void report_precision(const PrecisionReport& r) {
    info.precision = precision_name(r.precision);
    info.kernels = r.kernel;
    if (!r.warning.empty()) spdlog::warn("{}", r.warning);
    if (r.precision == Precision::Fp32) {
      if (r.layers > 0)
        spdlog::info(
            "precision fp32: {} linear layers on {} ({}), {:.1f} MB packed in {:.2f} s as loaded; the head on "
            "LibTorch's product (VIT_CLASSIFY_FP32_KERNEL=libtorch: every layer there)",
            r.layers, r.kernel, r.why, r.weight_bytes_after / 1e6, r.seconds);
      return;
    }
    spdlog::info(
        "precision {}: {} linear layers on {} ({}); {} head layer(s) kept in float32; weights {:.1f} MB -> "
        "{:.1f} MB in {:.2f} s, each as it was loaded",
        info.precision, r.layers, r.kernel, r.why, r.kept_fp32, r.weight_bytes_before / 1e6, r.weight_bytes_after / 1e6,
        r.seconds);
  }

  // On the CPU each linear layer is given a oneDNN kernel (fp32, bf16 or int8) as soon as its
  // weights are read, so the float32 model is never whole in memory beside the packed one.
  // EngineOptions::fp32_on_libtorch keeps fp32 on LibTorch's own product (BLAS).
  void load_native(const std::string& path, const ModelHints& hints, LoadOptions options, Precision precision,
                   bool fp32_on_libtorch, const ZeroShotOptions& zero_shot_options) {
    load_native_from(read_checkpoint(path), path, hints, std::move(options), precision, fp32_on_libtorch,
                     zero_shot_options);
  }

  void load_native_from(RawCheckpoint raw, const std::string& path, const ModelHints& hints, LoadOptions options,
                        Precision precision, bool fp32_on_libtorch, const ZeroShotOptions& zero_shot_options) {
    std::optional<PrecisionConverter> converter;
    if (device.is_cpu() && (precision != Precision::Fp32 || !fp32_on_libtorch)) {
      converter.emplace(precision);
      options.on_linear_loaded = [&converter](LinearImpl& layer) { converter->convert(layer); };
    }
    LoadedViT loaded = load_vit(std::move(raw), path, hints, options);
    vit = loaded.model;
    if (converter) report_precision(converter->finish(vit->config().dist_head ? 2 : 1));
    if (!device.is_cpu()) vit->to(device);
    const ViTConfig& cfg = vit->config();
    info.family = family_name(loaded.family);
    info.description = cfg.describe();
    info.image_size = static_cast<int>(cfg.image_size);
    info.patch_size = static_cast<int>(cfg.patch_size);
    info.num_classes = static_cast<int>(cfg.num_classes);
    // The attention layers explain draws: CaiT's class-attention blocks after its blocks; XCiT's
    // class-attention blocks alone (its XCA blocks attend over channels, not tokens).
    info.depth = static_cast<int>(cfg.xcit ? cfg.xcit_cls_blocks : cfg.depth + cfg.depth_token_only);
    info.heads = static_cast<int>(cfg.heads);
    info.can_explain = true;
    if (loaded.text) {  // CLIP: the label vectors once, then the text tower is no longer needed
      zero_shot = build_zero_shot_head(loaded.text, path, zero_shot_options);
      info.zero_shot = true;
      info.embed_dim = static_cast<int>(cfg.num_classes);
      info.num_classes = static_cast<int>(zero_shot->labels.size());
      info.labels = zero_shot->labels;
      info.zero_shot_summary = zero_shot->summary;
      info.description += ", CLIP E=" + std::to_string(info.embed_dim) + " with " + loaded.text->config().describe();
      if (!device.is_cpu()) zero_shot->classes = zero_shot->classes.to(device);
    }
    // Facebook's DeiT files wrap timm-named weights in {"model": ...} (the family's row says).
    const char* deit_key = family_facts(loaded.family).deit_wrapper_key;
    const bool deit = cfg.distilled || (deit_key && loaded.wrapper_key == deit_key);
    info.preprocess =
        auto_preprocess(loaded.family, deit, info.image_size,
                        published_at(hints, info.image_size, options.image_size > 0), &info.preprocess_reason);
  }
};

Engine::Engine(const EngineOptions& o) : impl_(std::make_unique<Impl>()) {
  ModelInfo& info = impl_->info;
  info.path = o.model_path;
  const std::string blas = blas_library_path();
  if (blas_is_reference(blas))
    spdlog::warn(
        "LibTorch is using the reference BLAS ({}), about 20x slower than OpenBLAS: "
        "install libopenblas0-openmp (scripts/setup.sh does)",
        blas);
  else
    spdlog::debug("BLAS: {}", blas.empty() ? "unknown" : blas);
  impl_->device = pick_device(o.device);
  info.device = impl_->device.str();
  const FileFormat format = detect_format(o.model_path);
  info.format = format_name(format);
  impl_->check_precision(o.precision, format);
  const ModelHints hints = read_model_hints(o.model_path);
  for (const auto& s : hints.sources) spdlog::info("read {}", s);
  info.labels = hints.labels;
  switch (format) {
    case FileFormat::TorchScript:
      if (o.image_size > 0)
        throw UsageError("--image-size: '" + o.model_path +
                         "' is a TorchScript module, whose position embeddings cannot be resampled from outside; "
                         "use the weights file (safetensors or .pth) to run at another size");
      if (impl_->load_torchscript(o.model_path, hints, LoadOptions{o.heads, 0, {}, o.batch_invariant},
                                  with_kernel_choice(o)))
        info.format = "torchscript (CLIP weights)";
      break;
    case FileFormat::Safetensors:
    case FileFormat::TorchZip:
      impl_->load_native(o.model_path, hints, LoadOptions{o.heads, o.image_size, {}, o.batch_invariant}, o.precision,
                         o.fp32_on_libtorch, with_kernel_choice(o));
      break;
  }
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
  return to_vector(out);
}

std::vector<float> probabilities_of_logits(std::vector<float> l, int n) {
  torch::InferenceMode guard;
  return to_vector(softmax_rows(torch::from_blob(l.data(), {n, static_cast<int64_t>(l.size()) / n}, torch::kFloat32)));
}

std::vector<float> Engine::probabilities(const float* batch, int n) {
  return probabilities_of_logits(logits(batch, n), n);
}

namespace {

// What a pooling of the patch tokens computes, in words.
const char* pooled_patches(Pool p) {
  switch (p) {
    case Pool::Avg: return "mean";
    case Pool::Max: return "maximum";
    case Pool::AvgMax: return "mean and maximum";
    case Pool::Token:
    case Pool::TokenAndAvg:
    case Pool::Map: break;
  }
  throw Error(std::string("internal: pooling '") + pool_name(p) + "' is not of the patch tokens alone");
}

// The weights the head reads the last block's T tokens with (see AttentionTrace::readout).
std::vector<float> readout_weights(const ViTConfig& cfg, const ForwardTrace& ft, std::string* what) {
  const int64_t T = cfg.num_tokens(), prefix = cfg.num_prefix_tokens(), N = cfg.num_patches();
  std::vector<float> w(static_cast<size_t>(T), 0.0f);
  const auto patches_uniform = [&](float total) {
    for (int64_t i = prefix; i < T; ++i) w[static_cast<size_t>(i)] += total / static_cast<float>(N);
  };
  switch (cfg.pool) {
    case Pool::Token:
      w[0] = 1;
      *what = cfg.dist_head ? "the class token (the distillation token's head is averaged in too; the maps follow "
                              "the class token)"
                            : "the class token";
      break;
    case Pool::TokenAndAvg:
      w[0] = 0.5f;
      patches_uniform(0.5f);
      *what = "the class token and the mean of the patch tokens, side by side";
      break;
    case Pool::Map: {
      const std::vector<float> a = to_vector(ft.pool_attention[0].mean(0));  // (heads, 1, N) -> (N)
      std::copy(a.begin(), a.end(), w.begin() + prefix);
      *what = "attention pooling (a learned query over the patch tokens; its weights, mean over heads)";
      break;
    }
    case Pool::Avg:
    case Pool::Max:
    case Pool::AvgMax:
      patches_uniform(1.0f);
      *what = std::string("the ") + pooled_patches(cfg.pool) + " of the patch tokens (each patch weighted equally" +
              (cfg.class_token ? "; the class token is not read)" : ")");
      break;
  }
  return w;
}

}  // namespace

AttentionTrace Engine::trace_attention(const float* image) {
  if (!impl_->vit)
    throw ModelError(
        "this model is a TorchScript module: its forward() returns only logits, and the attention "
        "weights inside it cannot be asked for. Use the weights file (safetensors or .pth) to explain");
  torch::InferenceMode guard;
  ForwardTrace ft;
  const torch::Tensor logits =
      impl_->readout(impl_->vit->forward_traced(impl_->to_input(image, 1), ft)).to(torch::kCPU);
  if (ft.pool_attention.defined()) ft.pool_attention = ft.pool_attention.to(torch::kCPU, torch::kFloat32);
  const ViTConfig& cfg = impl_->vit->config();
  AttentionTrace t;
  t.layers = static_cast<int>(ft.attentions.size());
  t.heads = static_cast<int>(cfg.heads);
  t.class_tokens = cfg.class_token ? 1 : 0;
  t.dist_tokens = cfg.distilled ? 1 : 0;
  t.registers = static_cast<int>(cfg.reg_tokens);
  t.prefix = static_cast<int>(cfg.num_prefix_tokens());
  t.grid = static_cast<int>(cfg.grid());
  t.tokens = static_cast<int>(cfg.num_tokens());
  t.dim = static_cast<int>(cfg.dim);
  t.attention = to_vector(torch::stack(ft.attentions, 0).squeeze(1));  // (L, heads, T, T)
  if (cfg.xcit)
    t.layers_note = "XCiT: the layers shown are its " + std::to_string(cfg.xcit_cls_blocks) +
                    " class-attention blocks (the class token's attention over all tokens; a patch token there is "
                    "updated from itself alone), after " +
                    std::to_string(cfg.depth) +
                    " XCA blocks whose attention is between channels (cross-covariance), not tokens, so they have "
                    "no token map; its position embeddings are the Fourier encoding at this grid";
  t.readout_weights = readout_weights(cfg, ft, &t.readout);
  const torch::Tensor pos = impl_->vit->position_vectors().to(torch::kCPU);  // (pos_prefix + N, D), or (N, N)
  t.pos_embed = to_vector(pos), t.dim = static_cast<int>(pos.size(1));
  t.pos_prefix = static_cast<int>(cfg.no_embed_class || !cfg.abs_pos || cfg.xcit ? 0 : cfg.num_prefix_tokens());
  t.logits = to_vector(logits);
  t.probabilities = to_vector(softmax_rows(logits.to(torch::kFloat32)));
  t.token_norms = to_vector(ft.tokens[0].norm(2, -1));  // (T)
  return t;
}

}  // namespace vit

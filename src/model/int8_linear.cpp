// The int8 kernel; see include/vit/model/int8_linear.h.
#include "vit/model/int8_linear.h"

#include <algorithm>
#include <vector>

#include "vit/errors.h"
#include "vit/model/int8_rows.h"
#include "vit/model/onednn_cpu.h"
#include "vit/model/onednn_linear.h"
#include "vit/model/parallel.h"

namespace vit {

namespace {

// Rows per task when the row loops are shared among threads.
constexpr int64_t kRowGrain = 16;
// The most rows an int8 layer multiplies at once (see Int8Linear::forward).
constexpr int64_t kInt8BlockRows = 512;

class Int8Linear final : public OnednnLinear {
 public:
  // weight_bits, input_bits: 8 or 7 (checked by make_int8_kernel).
  Int8Linear(const torch::Tensor& weight, const torch::Tensor& bias, int weight_bits, int input_bits)
      : OnednnLinear(weight.size(1), weight.size(0)), input_levels_((1 << input_bits) - 1) {
    const int qmax = (1 << (weight_bits - 1)) - 1;
    const auto w = weight.to(torch::kFloat32);
    // Symmetric per output channel: w = w_scale[n] * q, |q| <= qmax.
    w_scale_ = (w.abs().amax(1) / static_cast<double>(qmax)).clamp_min(1e-12).contiguous();
    const auto q = (w / w_scale_.unsqueeze(1)).round().clamp(-qmax, qmax).to(torch::kInt8).contiguous();
    w_sum_ = (w_scale_ * q.to(torch::kFloat32).sum(1)).contiguous();
    if (bias.defined()) bias_ = bias.to(torch::kFloat32).contiguous().clone();
    extra_bytes_ = 2 * N_ * static_cast<int64_t>(sizeof(float));
    pack(q.data_ptr());
    label_ = "int8 " + label_ + " (u8 x s8 -> s32, " + std::to_string(weight_bits) + "-bit weights, " +
             std::to_string(input_bits) + "-bit inputs per row)";
  }

  // Long inputs go through in blocks of at most kInt8BlockRows rows (equal blocks), so that the
  // int32 sums, the largest scratch, stay a few MB; rows are independent, the numbers the same.
  torch::Tensor forward(const torch::Tensor& x, bool gelu) const override {
    const auto src = to_rows(x, K_);
    const int64_t M = src.size(0);
    auto out = torch::empty({M, N_}, torch::kFloat32);
    const int64_t block = equal_block_rows(M, kInt8BlockRows);
    for (int64_t first = 0; first < M; first += block) {
      const int64_t n = std::min(block, M - first);
      finish(quantize(src.data_ptr<float>() + first * K_, n), out.data_ptr<float>() + first * N_);
    }
    if (gelu) at::gelu_out(out, out);  // in place: one (M, N) buffer less at the peak
    return from_rows(out, x);
  }

  // gelu(x W^T + b) straight into `next`'s quantized input, a block of rows at a time while in
  // cache: the int32 sums are dequantized, GELU'd (LibTorch's kernel, as forward) and quantized
  // per row again without the float32 hidden activations ever being whole in memory. The
  // numbers are those of forward(x, true) then next.forward.
  torch::Tensor forward_mlp(const torch::Tensor& x, const LinearKernel& next_kernel) const override {
    const auto* next = dynamic_cast<const Int8Linear*>(&next_kernel);
    if (!next || next->K_ != N_) return {};
    const auto src = to_rows(x, K_);
    const int64_t M = src.size(0);
    Rows in = quantize(src.data_ptr<float>(), M);
    const int32_t* acc = multiply(in);
    // The hidden rows, quantized, in the scratch that held x's (no longer read once multiplied).
    Rows hidden{static_cast<uint8_t*>(thread_scratch(Scratch::Quantized, static_cast<size_t>(M * N_))),
                torch::empty({M}, torch::kFloat32), torch::empty({M}, torch::kFloat32), M};
    parallel_rows(0, M, kRowGrain, [&](int64_t begin, int64_t end) {
      thread_local std::vector<float> block;
      const int64_t n = end - begin;
      block.resize(static_cast<size_t>(n * N_));
      dequantize_rows(acc + begin * N_, N_, 0, n, in.scale.data_ptr<float>() + begin, in.zs.data_ptr<float>() + begin,
                      w_scale_.data_ptr<float>(), w_sum_.data_ptr<float>(), bias(), block.data());
      auto t = torch::from_blob(block.data(), {n, N_});
      at::gelu_out(t, t);
      // A non-finite row stays NaN through the next layer (see quantize_rows_u8).
      quantize_rows_u8(block.data(), N_, 0, n, next->input_levels_, hidden.q + begin * N_,
                       hidden.scale.data_ptr<float>() + begin, hidden.zs.data_ptr<float>() + begin);
    });
    auto out = torch::empty({M, next->N_}, torch::kFloat32);
    next->finish(hidden, out.data_ptr<float>());
    return from_rows(out, x);
  }

  // u8 x s8 sums in int32 are exact in any order; quantization and the rest are per row.
  bool exact_rows() const override { return true; }

 private:
  // A layer's input quantized per row: u8 values (M x K, in this thread's scratch), scales and
  // scale x zero point per row.
  struct Rows {
    uint8_t* q;
    torch::Tensor scale, zs;
    int64_t M;
  };

  const float* bias() const { return bias_.defined() ? bias_.data_ptr<float>() : nullptr; }

  Rows quantize(const float* x, int64_t M) const {
    Rows r{static_cast<uint8_t*>(thread_scratch(Scratch::Quantized, static_cast<size_t>(M * K_))),
           torch::empty({M}, torch::kFloat32), torch::empty({M}, torch::kFloat32), M};
    // A row holding NaN or infinity (NaN weights upstream, say) comes out NaN, as in float32:
    // that image gets a failed record rather than the whole run an error.
    parallel_rows(0, M, kRowGrain, [&](int64_t begin, int64_t end) {
      quantize_rows_u8(x, K_, begin, end, input_levels_, r.q, r.scale.data_ptr<float>(), r.zs.data_ptr<float>());
    });
    return r;
  }

  // The int32 sums (M x N, in this thread's scratch) of quantized rows times the weights.
  int32_t* multiply(const Rows& in) const {
    auto* acc = static_cast<int32_t*>(thread_scratch(Scratch::Sums, static_cast<size_t>(in.M * N_) * sizeof(int32_t)));
    run(in.q, in.M, false, {}, acc);
    return acc;
  }

  // Quantized rows (of this layer's input) through the layer, into out (M x N float32).
  void finish(const Rows& in, float* out) const {
    const int32_t* acc = multiply(in);
    parallel_rows(0, in.M, kRowGrain, [&](int64_t begin, int64_t end) {
      dequantize_rows(acc, N_, begin, end, in.scale.data_ptr<float>(), in.zs.data_ptr<float>(),
                      w_scale_.data_ptr<float>(), w_sum_.data_ptr<float>(), bias(), out);
    });
  }

  dt source_type() const override { return dt::u8; }
  dt weight_type() const override { return dt::s8; }
  dt dest_type() const override { return dt::s32; }
  dnnl::primitive_attr attributes(bool) const override { return {}; }
  int input_levels_;  // 255 or 127: the largest quantized input
  torch::Tensor w_scale_, w_sum_, bias_;
};

}  // namespace

Int8Bits int8_bits_for_cpu() { return onednn_has_vnni() ? Int8Bits{8, 8} : Int8Bits{8, 7}; }

std::shared_ptr<const LinearKernel> make_int8_kernel(const torch::Tensor& weight, const torch::Tensor& bias,
                                                     Int8Bits bits) {
  if (bits.weight == 0 && bits.input == 0) bits = int8_bits_for_cpu();
  for (const int b : {bits.weight, bits.input})
    if (b != 7 && b != 8)
      throw ModelError("int8 weights and inputs take 7 or 8 bits, not " + std::to_string(bits.weight) + " and " +
                       std::to_string(bits.input));
  // Without VNNI, oneDNN sums u8 x s8 products in pairs with vpmaddubsw, whose int16 result
  // saturates when both are 8-bit (2 x 255 x 127 > 32767): wrong numbers, never an error. One
  // side with 7 bits fits: 2 x 127 x 127 or 2 x 255 x 63 <= 32767.
  if (bits.weight == 8 && bits.input == 8 && !onednn_has_vnni())
    throw ModelError("8-bit int8 weights with 8-bit inputs need VNNI, which this CPU lacks (oneDNN sees " +
                     onednn_isa_name() + "): its int16 pair sums would saturate; give one side 7 bits");
  return std::make_shared<Int8Linear>(weight, bias, bits.weight, bits.input);
}

}  // namespace vit

// See zoo_parity.h.
#include "zoo_parity.h"

#include <chrono>
#include <cmath>
#include <exception>
#include <vector>

#include "reference_tensors.h"
#include "vit/io/files.h"
#include "vit/io/safetensors.h"
#include "vit/model/engine.h"

namespace vit::test {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

ZooResult check_model_dir(const std::string& dir, int image_size, int heads) {
  ZooResult r;
  try {
    const std::string weights =
        is_regular_file(dir + "/model.safetensors") ? dir + "/model.safetensors" : dir + "/model.pth";
    SafetensorsFile io(dir + "/io.safetensors");
    std::vector<int64_t> in_shape, out_shape;
    const auto input = read_f32(io, "input", &in_shape);
    const auto want = read_f32(io, "logits", &out_shape);
    auto t0 = std::chrono::steady_clock::now();
    EngineOptions o;
    o.model_path = weights;
    o.device.kind = DeviceSpec::Kind::Cpu;
    o.image_size = image_size;
    o.heads = heads;
    Engine engine(o);
    r.load_seconds = seconds_since(t0);
    r.loaded = true;
    r.description = engine.info().description;
    if (engine.info().image_size != in_shape[2])
      throw std::runtime_error("the model runs at " + std::to_string(engine.info().image_size) +
                               " px, the reference input is " + std::to_string(in_shape[2]));
    t0 = std::chrono::steady_clock::now();
    const auto got = engine.logits(input.data(), static_cast<int>(in_shape[0]));
    r.run_seconds = seconds_since(t0);
    if (got.size() != want.size())
      throw std::runtime_error(std::to_string(got.size()) + " logits, reference has " + std::to_string(want.size()));
    for (size_t i = 0; i < got.size(); ++i) {
      r.max_diff = std::max(r.max_diff, std::fabs(got[i] - want[i]));
      r.max_ref = std::max(r.max_ref, std::fabs(want[i]));
    }
    if (!std::isfinite(r.max_diff)) r.max_diff = INFINITY;
  } catch (const std::exception& e) {
    r.error = e.what();
  }
  return r;
}

}  // namespace vit::test

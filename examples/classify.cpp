// A program of your own on vit-classify's library: classify one image and print its five most
// probable classes. Built against the installed package only (see examples/CMakeLists.txt):
//   classify MODEL IMAGE
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <exception>
#include <vector>

#include "vit/errors.h"
#include "vit/image/decode.h"
#include "vit/image/preprocess.h"
#include "vit/model/engine.h"
#include "vit/model/prediction.h"
#include "vit/model/runtime.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s MODEL IMAGE\n", argv[0]);
    return 2;
  }
  // The library logs through spdlog, whose default logger writes to stdout: results only there.
  spdlog::set_default_logger(spdlog::stderr_color_mt("vit"));
  spdlog::set_level(spdlog::level::warn);
  try {
    vit::set_math_threads(0);  // LibTorch starts with one math thread; 0 = one per core
    vit::EngineOptions options;
    options.model_path = argv[1];
    vit::Engine engine(options);
    const vit::ModelInfo& info = engine.info();

    // The preprocessing the weights were trained with ("--preset auto").
    int side = 0;
    const std::vector<float> input = vit::preprocess(vit::decode_image(argv[2], nullptr), info.preprocess, &side);
    const std::vector<float> probs = engine.probabilities(input.data(), 1);  // (1, classes)

    const int classes = static_cast<int>(probs.size());
    const vit::Labels& labels = info.labels ? *info.labels : vit::Labels::imagenet1k();
    for (const vit::Prediction& p : vit::top_k(probs.data(), classes, 5, labels))
      std::printf("%-4d %-40s %.4f\n", p.index, p.label.c_str(), p.probability);
    return 0;
  } catch (const vit::Error& e) {
    std::fprintf(stderr, "classify: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "classify: internal error: %s\n", e.what());
    return 4;
  }
}

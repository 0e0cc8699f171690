// vit_zoo_check DIR [IMAGE_SIZE]: one JSON line comparing vit-classify's logits for DIR's
// model with timm's (see zoo_parity.h). Run by scripts/check_timm_zoo.py; exit 0 even when
// the model is refused (the line says why), 2 for bad arguments.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>

#include "vit/model/runtime.h"
#include "zoo_parity.h"

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: vit_zoo_check DIR [IMAGE_SIZE]\n");
    return 2;
  }
  vit::set_math_threads(0);
  const auto r = vit::test::check_model_dir(argv[1], argc == 3 ? std::atoi(argv[2]) : 0);
  nlohmann::json j{{"dir", argv[1]},
                   {"loaded", r.loaded},
                   {"error", r.error},
                   {"description", r.description},
                   {"max_diff", r.max_diff},
                   {"max_ref", r.max_ref},
                   {"load_seconds", r.load_seconds},
                   {"run_seconds", r.run_seconds}};
  std::cout << j.dump() << "\n";
  return 0;
}

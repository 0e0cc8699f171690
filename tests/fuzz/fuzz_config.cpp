// Fuzz target: the files read beside a model: config.json, preprocessor_config.json (both
// through read_model_hints) and a --labels file. The input is split at the first "\n@@\n":
// before it is config.json, after it preprocessor_config.json; the whole input is also read
// as a labels file. An empty part means that file is absent.
#include "fuzz_util.h"
#include "vit/errors.h"
#include "vit/io/labels.h"
#include "vit/model/hints.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  vit::fuzz::quiet();
  return 0;
}

namespace {

void place(const std::string& name, const std::string& text) {
  if (text.empty())
    vit::fuzz::remove_scratch(name);
  else
    vit::fuzz::write_scratch(name, reinterpret_cast<const uint8_t*>(text.data()), text.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto [config, preprocessor] = vit::fuzz::split_input(data, size, "\n@@\n");
  place("config.json", config);
  place("preprocessor_config.json", preprocessor);
  try {
    const vit::ModelHints h = vit::read_model_hints(vit::fuzz::scratch_dir() + "/model.safetensors");
    if (h.labels)
      for (size_t i = 0; i < h.labels->size(); ++i) (void)h.labels->name(i);
  } catch (const vit::Error&) {
  }
  const std::string labels = vit::fuzz::write_scratch("labels.txt", data, size);
  try {
    const vit::Labels l = vit::Labels::from_file(labels);
    for (size_t i = 0; i <= l.size(); ++i) (void)l.name(i);
  } catch (const vit::Error&) {
  }
  return 0;
}

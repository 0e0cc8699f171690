// Fuzz target: --resume's reader of an existing output file (JSON Lines, CSV, TSV, text), and
// the check that it matches the run to be resumed. The first byte chooses the format.
#include "fuzz_util.h"
#include "vit/app/resume.h"
#include "vit/batch/records.h"
#include "vit/errors.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  vit::fuzz::quiet();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const vit::RecordFormat formats[] = {vit::RecordFormat::Json, vit::RecordFormat::Csv, vit::RecordFormat::Tsv,
                                              vit::RecordFormat::Text};
  const vit::RecordFormat format = formats[data[0] % 4];
  const std::string path = vit::fuzz::write_scratch("records.out", data + 1, size - 1);
  try {
    const vit::Recorded r = vit::recorded_inputs(path, format);
    vit::check_resume_matches(r, path, format, "file,rank,class,label,probability", "model.safetensors", 5);
  } catch (const vit::Error&) {
  }
  return 0;
}

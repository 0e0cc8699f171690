// Fuzz target: the torch.save reader (zip container, CRCs, our unpickler: opcodes, memo,
// nesting, persistent storage references, tensor rebuilds). The first byte chooses the input's
// shape: odd, the rest is a whole file; even, the rest is data.pkl, packed here into a valid
// archive (data.pkl, byteorder and a 256-byte storage "0") so the fuzzer reaches the pickle.
#include <caffe2/serialize/inline_container.h>

#include <sstream>

#include "fuzz_util.h"
#include "vit/errors.h"
#include "vit/model/torch_checkpoint.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  vit::fuzz::quiet();
  return 0;
}

namespace {

std::string archive_around(const uint8_t* pickle, size_t size) {
  std::ostringstream out;
  caffe2::serialize::PyTorchStreamWriter writer([&](const void* buf, size_t n) {
    out.write(static_cast<const char*>(buf), static_cast<std::streamsize>(n));
    return n;
  });
  writer.writeRecord("data.pkl", pickle, size);
  writer.writeRecord("byteorder", "little", 6);
  static const std::string storage(256, '\x01');
  writer.writeRecord("data/0", storage.data(), storage.size());
  writer.writeEndOfFile();
  return out.str();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string path;
  if (data[0] & 1) {
    path = vit::fuzz::write_scratch("model.pth", data + 1, size - 1);
  } else {
    const std::string zip = archive_around(data + 1, size - 1);
    path = vit::fuzz::write_scratch("model.pth", reinterpret_cast<const uint8_t*>(zip.data()), zip.size());
  }
  try {
    const vit::TorchCheckpoint c = vit::read_torch_checkpoint(path);
    for (const auto& [name, t] : c.tensors)
      if (t.defined() && t.numel() > 0) (void)t.sum().item<double>();  // touches every element
  } catch (const vit::Error&) {
  }
  return 0;
}

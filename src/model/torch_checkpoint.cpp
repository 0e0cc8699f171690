// Reading torch.save() zip checkpoints; see include/vit/model/torch_checkpoint.h.
#include "vit/model/torch_checkpoint.h"

#include <caffe2/serialize/inline_container.h>

#include <memory>

#include "vit/errors.h"
#include "vit/io/zip_directory.h"
#include "vit/model/pickle.h"

namespace vit {

namespace {

bool collect_tensors(const PyPtr& d, std::map<std::string, at::Tensor>& out) {
  bool any = false;
  for (const auto& kv : d->dict) {
    if (kv.first->kind == PyValue::Kind::String && kv.second->kind == PyValue::Kind::Tensor) {
      out[kv.first->s] = kv.second->tensor;
      any = true;
    }
  }
  return any;
}

}  // namespace

TorchCheckpoint read_torch_checkpoint(const std::string& path) {
  // Our own reading of the zip directory comes first: caffe2's reader leaks its zip state
  // when its constructor throws (LibTorch 1.13), so what it would refuse is refused here.
  const ZipDirectory zip(path);
  if (!zip.has("data.pkl"))
    throw ModelError("'" + path + "' is a zip file but has no data.pkl: not a torch.save checkpoint");
  zip.check_size(zip.has(".data/version") ? ".data/version" : "version", 64);
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  try {
    reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const c10::Error& e) {
    throw ModelError("'" + path + "' is not a readable PyTorch zip checkpoint: " + e.what_without_backtrace());
  } catch (const std::exception& e) {  // caffe2::stoull on a version record that is not a number
    throw ModelError("'" + path + "' is not a readable PyTorch zip checkpoint: " + e.what());
  }
  if (!reader->hasRecord("data.pkl"))
    throw ModelError("'" + path + "' is a zip file but has no data.pkl: not a torch.save checkpoint");
  if (reader->hasRecord("byteorder")) {
    auto rec = reader->getRecord("byteorder");
    std::string order(static_cast<const char*>(std::get<0>(rec).get()), std::get<1>(rec));
    if (order != "little") throw ModelError("'" + path + "' was saved on a big-endian machine; not supported");
  }
  zip.check_size("data.pkl", uint64_t{1} << 30);
  at::DataPtr pkl;
  size_t size = 0;
  try {
    std::tie(pkl, size) = reader->getRecord("data.pkl");
  } catch (const c10::Error& e) {
    throw ModelError("cannot read '" + path + "': " + e.what_without_backtrace());
  }
  zip.check_crc("data.pkl", pkl.get(), size);
  Unpickler up(*reader, zip, path);
  PyPtr root;
  try {
    root = up.run(static_cast<const uint8_t*>(pkl.get()), size);
  } catch (const c10::Error& e) {
    throw ModelError("cannot read '" + path + "': " + e.what_without_backtrace());
  }
  TorchCheckpoint ck;
  if (root->kind != PyValue::Kind::Dict)
    throw ModelError("'" + path +
                     "' holds a pickled object, not a state dict (a whole nn.Module saved with torch.save?). "
                     "Save model.state_dict() instead, or export TorchScript");
  if (collect_tensors(root, ck.tensors)) return ck;
  for (const char* key : {"model", "state_dict", "model_state_dict", "module", "model_ema"}) {
    for (const auto& kv : root->dict) {
      if (kv.first->s == key && kv.second->kind == PyValue::Kind::Dict && collect_tensors(kv.second, ck.tensors)) {
        ck.wrapper_key = key;
        return ck;
      }
    }
  }
  throw ModelError("'" + path +
                   "' is a PyTorch checkpoint but holds no state dict of tensors (looked at the top level and "
                   "under 'model', 'state_dict', 'model_state_dict', 'module', 'model_ema')");
}

}  // namespace vit

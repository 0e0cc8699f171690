// A minimal, code-free unpickler for the data.pkl of torch.save() zip checkpoints (for
// torch_checkpoint.cpp): it never runs code, it only rebuilds dicts, lists, tuples, scalars
// and tensors, whose storages it reads from the archive's data/ records.
#pragma once

#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "vit/io/zip_directory.h"

namespace vit {

struct PyValue;
using PyPtr = std::shared_ptr<PyValue>;

struct PyValue {
  enum class Kind { None, Bool, Int, Float, String, Tuple, List, Dict, Global, Storage, Tensor, Object };
  Kind kind = Kind::None;
  int64_t i = 0;
  double f = 0;
  std::string s;                              // String, Global ("module.name"), Object (its class)
  std::vector<PyPtr> items;                   // Tuple, List
  std::vector<std::pair<PyPtr, PyPtr>> dict;  // Dict, in insertion order
  at::Tensor tensor;                          // Storage (1-D, whole storage) or Tensor

  PyValue() = default;
  PyValue(const PyValue&) = delete;
  PyValue& operator=(const PyValue&) = delete;
  // Iterative: a pickle nesting a million lists would otherwise overflow the stack when the
  // last reference to the outermost one goes.
  ~PyValue() {
    std::vector<PyPtr> pending;
    take_children(pending);
    while (!pending.empty()) {
      PyPtr p = std::move(pending.back());
      pending.pop_back();
      if (p && p.use_count() == 1) p->take_children(pending);  // p then dies with no children
    }
  }

  // Moves this value's children out (to break the reference cycles a pickle can make).
  void take_children(std::vector<PyPtr>& out) {
    for (auto& v : items) out.push_back(std::move(v));
    for (auto& kv : dict) {
      out.push_back(std::move(kv.first));
      out.push_back(std::move(kv.second));
    }
    items.clear();
    dict.clear();
  }
};

// Runs one pickle. The values it makes hold each other only while it lives: a pickle can make
// a value hold itself (memo + APPEND), so the destructor breaks every such cycle, and what is
// needed of the result must be taken before then. Throws ModelError for what it cannot read
// or will not run, naming `path`.
class Unpickler {
 public:
  Unpickler(caffe2::serialize::PyTorchStreamReader& reader, const ZipDirectory& zip, const std::string& path);
  ~Unpickler();
  Unpickler(const Unpickler&) = delete;
  Unpickler& operator=(const Unpickler&) = delete;
  PyPtr run(const uint8_t* data, size_t size);  // the pickle's root value

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vit

// The unpickler of torch.save() checkpoints; see include/vit/model/pickle.h.
#include "vit/model/pickle.h"

#include <cstring>
#include <unordered_map>

#include "vit/errors.h"
#include "vit/io/bytes.h"

namespace vit {

namespace {

PyPtr make_value(PyValue::Kind k) {
  auto p = std::make_shared<PyValue>();
  p->kind = k;
  return p;
}

at::ScalarType storage_dtype(const std::string& global) {
  static const std::unordered_map<std::string, at::ScalarType> types{
      {"torch.FloatStorage", at::kFloat},   {"torch.HalfStorage", at::kHalf}, {"torch.BFloat16Storage", at::kBFloat16},
      {"torch.DoubleStorage", at::kDouble}, {"torch.LongStorage", at::kLong}, {"torch.IntStorage", at::kInt},
      {"torch.ShortStorage", at::kShort},   {"torch.CharStorage", at::kChar}, {"torch.ByteStorage", at::kByte},
      {"torch.BoolStorage", at::kBool},
  };
  auto it = types.find(global);
  if (it == types.end()) throw ModelError("unsupported storage type '" + clipped(global) + "' in checkpoint");
  return it->second;
}

}  // namespace

struct Unpickler::Impl {
 public:
  Impl(caffe2::serialize::PyTorchStreamReader& reader, const ZipDirectory& zip, const std::string& path)
      : reader_(reader), zip_(zip), path_(path) {}
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  // A pickle can make a value hold itself (memo + APPEND): shared pointers alone would leak
  // such cycles, so every value made here drops its children at the end.
  ~Impl() {
    std::vector<PyPtr> children;
    for (const auto& w : made_)
      if (PyPtr p = w.lock()) p->take_children(children);
    children.clear();
  }

  PyPtr run(const uint8_t* data, size_t size) {
    p_ = data;
    end_ = data + size;
    while (true) {
      const uint8_t op = u8();
      switch (op) {
        case 0x80: u8(); break;                            // PROTO
        case 0x95: take(8); break;                         // FRAME
        case '.': return pop();                            // STOP
        case '(': marks_.push_back(stack_.size()); break;  // MARK
        case 'N': stack_.push_back(make(PyValue::Kind::None)); break;
        case 0x88: push_bool(true); break;                              // NEWTRUE
        case 0x89: push_bool(false); break;                             // NEWFALSE
        case 'K': push_int(u8()); break;                                // BININT1
        case 'M': push_int(le(2)); break;                               // BININT2
        case 'J': push_int(static_cast<int32_t>(le(4))); break;         // BININT
        case 0x8a: push_long(u8()); break;                              // LONG1
        case 0x8b: push_long(le(4)); break;                             // LONG4
        case 'G': push_float(); break;                                  // BINFLOAT
        case 'X': push_string(le(4)); break;                            // BINUNICODE
        case 0x8c: push_string(u8()); break;                            // SHORT_BINUNICODE
        case 0x8d: push_string(le(8)); break;                           // BINUNICODE8
        case 'T': push_string(le(4)); break;                            // BINSTRING
        case 'U': push_string(u8()); break;                             // SHORT_BINSTRING
        case 'B': push_string(le(4)); break;                            // BINBYTES
        case 'C': push_string(u8()); break;                             // SHORT_BINBYTES
        case '}': stack_.push_back(make(PyValue::Kind::Dict)); break;   // EMPTY_DICT
        case ']': stack_.push_back(make(PyValue::Kind::List)); break;   // EMPTY_LIST
        case 0x8f: stack_.push_back(make(PyValue::Kind::List)); break;  // EMPTY_SET (kept as a list)
        case ')': stack_.push_back(make(PyValue::Kind::Tuple)); break;  // EMPTY_TUPLE
        case 't': {
          auto t = make(PyValue::Kind::Tuple);
          t->items = pop_mark();
          stack_.push_back(t);
          break;
        }
        case 0x85: tuple_n(1); break;
        case 0x86: tuple_n(2); break;
        case 0x87: tuple_n(3); break;
        case 'q': memo_[u8()] = top(); break;                                   // BINPUT
        case 'r': memo_[static_cast<uint32_t>(le(4))] = top(); break;           // LONG_BINPUT
        case 0x94: memo_[static_cast<uint32_t>(memo_.size())] = top(); break;   // MEMOIZE
        case 'h': stack_.push_back(memo(u8())); break;                          // BINGET
        case 'j': stack_.push_back(memo(static_cast<uint32_t>(le(4)))); break;  // LONG_BINGET
        case 'a': {
          auto v = pop();
          list(top())->items.push_back(v);
          break;
        }  // APPEND
        case 'e':
        case 0x90: {  // APPENDS, ADDITEMS
          auto items = pop_mark();
          auto l = list(top());
          l->items.insert(l->items.end(), items.begin(), items.end());
          break;
        }
        case 's': {
          auto v = pop();
          auto k = pop();
          dict(top())->dict.emplace_back(k, v);
          break;
        }            // SETITEM
        case 'u': {  // SETITEMS
          auto items = pop_mark();
          if (items.size() % 2) fail("odd SETITEMS");
          auto d = dict(top());
          for (size_t j = 0; j < items.size(); j += 2) d->dict.emplace_back(items[j], items[j + 1]);
          break;
        }
        case 'c': {  // GLOBAL
          std::string mod = line(), name = line();
          push_global(mod + "." + name);
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          auto name = pop(), mod = pop();
          push_global(mod->s + "." + name->s);
          break;
        }
        case 'Q': stack_.push_back(persistent_load(pop())); break;  // BINPERSID
        case 'R': {
          auto args = pop();
          auto fn = pop();
          stack_.push_back(reduce(fn, args));
          break;
        }  // REDUCE
        case 0x81: {
          auto args = pop();
          auto cls = pop();
          stack_.push_back(reduce(cls, args));
          break;
        }                        // NEWOBJ
        case 'b': pop(); break;  // BUILD: object state (OrderedDict _metadata, Namespace fields) is not needed
        default: fail("unsupported pickle opcode 0x" + hex(op));
      }
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw ModelError("cannot read PyTorch checkpoint '" + path_ + "': " + what +
                     " (corrupt file, or saved in a format this reader does not know)");
  }
  static std::string hex(uint8_t v) {
    const char* d = "0123456789abcdef";
    return std::string{d[v >> 4], d[v & 15]};
  }
  const uint8_t* take(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) fail("pickle data ends early");
    const uint8_t* r = p_;
    p_ += n;
    return r;
  }
  uint8_t u8() { return *take(1); }
  uint64_t le(int n) { return load_le(take(n), static_cast<size_t>(n)); }
  std::string line() {
    const uint8_t* s = p_;
    while (p_ < end_ && *p_ != '\n') ++p_;
    if (p_ == end_) fail("unterminated GLOBAL");
    std::string r(reinterpret_cast<const char*>(s), p_ - s);
    ++p_;
    return r;
  }
  PyPtr pop() {
    if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) fail("stack underflow");
    auto v = stack_.back();
    stack_.pop_back();
    return v;
  }
  PyPtr top() {
    if (stack_.empty()) fail("stack underflow");
    return stack_.back();
  }
  std::vector<PyPtr> pop_mark() {
    if (marks_.empty()) fail("missing MARK");
    size_t m = marks_.back();
    marks_.pop_back();
    if (m > stack_.size()) fail("bad MARK");
    std::vector<PyPtr> items(stack_.begin() + static_cast<long>(m), stack_.end());
    stack_.resize(m);
    return items;
  }
  PyPtr memo(uint32_t k) {
    auto it = memo_.find(k);
    if (it == memo_.end()) fail("memo key " + std::to_string(k) + " missing");
    return it->second;
  }
  PyPtr list(const PyPtr& v) {
    if (v->kind != PyValue::Kind::List) fail("APPEND to a non-list");
    return v;
  }
  PyPtr dict(const PyPtr& v) {
    if (v->kind != PyValue::Kind::Dict) fail("SETITEM on a non-dict");
    return v;
  }
  void tuple_n(size_t n) {
    auto t = make(PyValue::Kind::Tuple);
    t->items.resize(n);
    for (size_t k = n; k-- > 0;) t->items[k] = pop();
    stack_.push_back(t);
  }
  void push_bool(bool b) {
    auto v = make(PyValue::Kind::Bool);
    v->i = b;
    stack_.push_back(v);
  }
  void push_int(int64_t i) {
    auto v = make(PyValue::Kind::Int);
    v->i = i;
    stack_.push_back(v);
  }
  void push_long(uint64_t n) {  // little-endian two's complement of n bytes
    if (n > 8) fail("integer wider than 64 bits");
    const uint8_t* b = take(n);
    uint64_t u = load_le(b, n);
    if (n > 0 && n < 8 && (b[n - 1] & 0x80)) u |= ~uint64_t{0} << (8 * n);
    push_int(static_cast<int64_t>(u));
  }
  void push_float() {
    const uint64_t u = load_be(take(8), 8);  // BINFLOAT is big-endian
    auto v = make(PyValue::Kind::Float);
    std::memcpy(&v->f, &u, 8);
    stack_.push_back(v);
  }
  void push_string(uint64_t n) {
    if (n > static_cast<uint64_t>(end_ - p_)) fail("string runs past the end");
    auto v = make(PyValue::Kind::String);
    v->s.assign(reinterpret_cast<const char*>(take(n)), n);
    stack_.push_back(v);
  }
  // Nothing a pickle names is ever called: the tensor rebuilders are interpreted, anything
  // else is an opaque value. A module that can only be there to run something is refused, so
  // that a malicious file is reported as such.
  void push_global(const std::string& name) {
    static const char* const kCodeRunners[] = {"os.",          "posix.",   "nt.",      "subprocess.", "builtins.",
                                               "__builtin__.", "sys.",     "shutil.",  "socket.",     "importlib.",
                                               "pickle.",      "marshal.", "runpy.",   "code.",       "pty.",
                                               "webbrowser.",  "ctypes.",  "commands."};
    for (const char* m : kCodeRunners)
      if (name.rfind(m, 0) == 0)
        throw ModelError("'" + path_ + "' asks to call " + clipped(name) +
                         " when unpickled (a malicious file?): refused, nothing was run");
    auto v = make(PyValue::Kind::Global);
    v->s = name;
    stack_.push_back(v);
  }

  // ('storage', <storage type>, key, location, numel) -> the whole storage as a 1-D tensor.
  PyPtr persistent_load(const PyPtr& pid) {
    if (pid->kind != PyValue::Kind::Tuple || pid->items.size() < 5 || pid->items[0]->s != "storage")
      fail("unknown persistent id");
    const std::string key = pid->items[2]->s;
    auto cached = storages_.find(key);
    if (cached != storages_.end()) return cached->second;
    const at::ScalarType dtype = storage_dtype(pid->items[1]->s);
    const int64_t numel = pid->items[4]->i;
    const std::string record = "data/" + key;
    if (!reader_.hasRecord(record)) fail("tensor data record '" + record + "' is missing");
    if (numel < 0) fail("storage '" + key + "' has a negative size");
    if (static_cast<uint64_t>(numel) > (uint64_t{1} << 40) / at::elementSize(dtype))
      fail("storage '" + key + "' claims " + std::to_string(numel) + " elements");
    const size_t need = static_cast<size_t>(numel) * at::elementSize(dtype);
    zip_.check_size(record, need + 4096);  // nothing inflates beyond what the pickle asks for
    at::DataPtr ptr;
    size_t size = 0;
    std::tie(ptr, size) = reader_.getRecord(record);
    zip_.check_crc(record, ptr.get(), size);
    if (size < need)
      fail("record '" + record + "' holds " + std::to_string(size) + " bytes, " + std::to_string(need) + " needed");
    auto v = make(PyValue::Kind::Storage);
    v->tensor = at::empty({numel}, at::TensorOptions().dtype(dtype));
    if (need) std::memcpy(v->tensor.data_ptr(), ptr.get(), need);
    storages_[key] = v;
    return v;
  }

  std::vector<int64_t> ints(const PyPtr& t) {
    if (t->kind != PyValue::Kind::Tuple && t->kind != PyValue::Kind::List) fail("expected a tuple of ints");
    std::vector<int64_t> r;
    for (const auto& e : t->items) r.push_back(e->i);
    return r;
  }

  PyPtr reduce(const PyPtr& fn, const PyPtr& args) {
    const std::string& name = fn->s;
    const auto& a = args->items;
    if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
      if (a.size() < 4 || a[0]->kind != PyValue::Kind::Storage) fail("malformed tensor record");
      const auto size = ints(a[2]), stride = ints(a[3]);
      const int64_t offset = a[1]->i;
      const int64_t avail = a[0]->tensor.numel();
      int64_t last = offset;
      for (size_t d = 0; d < size.size() && d < stride.size(); ++d) {
        if (size[d] < 0 || stride[d] < 0) fail("tensor view with a negative size or stride");
        if (size[d] == 0) {
          last = -1;
          break;
        }
        int64_t step = 0;
        if (__builtin_mul_overflow(size[d] - 1, stride[d], &step) || __builtin_add_overflow(last, step, &last))
          fail("tensor view runs past its storage");
      }
      if (size.size() != stride.size() || offset < 0 || last >= avail) fail("tensor view runs past its storage");
      auto v = make(PyValue::Kind::Tensor);
      v->tensor = a[0]->tensor.as_strided(size, stride, offset);
      return v;
    }
    if (name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state") {
      if (a.empty() || a[0]->kind != PyValue::Kind::Tensor) fail("malformed parameter record");
      return a[0];
    }
    if (name == "collections.OrderedDict") return make(PyValue::Kind::Dict);
    auto obj = make(PyValue::Kind::Object);  // anything else (argparse.Namespace, numpy scalars...) is opaque
    obj->s = name;
    return obj;
  }

  // A ViT's state dict, even with its optimizer's, is a few thousand values; a pickle of many
  // more (a million nested lists, say) is refused before it takes hundreds of MB.
  static constexpr size_t kMaxValues = 500'000;

  PyPtr make(PyValue::Kind k) {  // every value is made here, and tracked for ~Impl
    if (made_.size() >= kMaxValues)
      fail("more than " + std::to_string(kMaxValues) + " values: no state dict is built like that");
    PyPtr p = make_value(k);
    made_.push_back(p);
    return p;
  }

  caffe2::serialize::PyTorchStreamReader& reader_;
  const ZipDirectory& zip_;
  std::vector<std::weak_ptr<PyValue>> made_;
  std::string path_;
  const uint8_t* p_ = nullptr;
  const uint8_t* end_ = nullptr;
  std::vector<PyPtr> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint32_t, PyPtr> memo_;
  std::unordered_map<std::string, PyPtr> storages_;
};

Unpickler::Unpickler(caffe2::serialize::PyTorchStreamReader& reader, const ZipDirectory& zip, const std::string& path)
    : impl_(std::make_unique<Impl>(reader, zip, path)) {}
Unpickler::~Unpickler() = default;
PyPtr Unpickler::run(const uint8_t* data, size_t size) { return impl_->run(data, size); }

}  // namespace vit

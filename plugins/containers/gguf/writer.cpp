// GGUF v3 writer following ggml's gguf_write recipe (gguf.md §12) so that a file read and
// written back comes out byte for byte the same.
#include <algorithm>
#include <limits>
#include <unordered_set>

#include "gguf_plugin.hpp"
#include "gguf_types.hpp"
#include "header_buffer.hpp"
#include "loadable.hpp"

namespace quantflow::gguf {

namespace {

struct Planned {
  uint32_t type_id = 0;
  uint32_t n_dims = 1;
  uint64_t ne[kMaxDims] = {1, 1, 1, 1};
  uint64_t n_bytes = 0;
  uint64_t offset = 0;
};

uint64_t padded(uint64_t n, uint64_t alignment) { return (n + alignment - 1) / alignment * alignment; }

class GgufWriter final : public Writer {
 public:
  GgufWriter(OutputSink& sink, const CodecCatalog& catalog, bool allow_unloadable)
      : sink_(sink), catalog_(catalog), allow_unloadable_(allow_unloadable) {}

  Result<std::vector<size_t>> begin(const Metadata& metadata, const std::vector<TensorInfo>& tensors) override {
    try {
      if (state_ != State::fresh) return internal_error("GGUF writer: begin() called twice");
      state_ = State::failed;  // until the header is out
      if (!allow_unloadable_) QF_RETURN_IF_ERROR(check_loadable(metadata, tensors));
      QF_RETURN_IF_ERROR(read_alignment(metadata));
      std::vector<Planned> plan(tensors.size());
      QF_RETURN_IF_ERROR(plan_tensors(tensors, plan));

      ByteBuffer header;
      header.put(kMagic);
      header.put(kVersion);
      header.put<uint64_t>(tensors.size());
      header.put<uint64_t>(metadata.size());
      std::unordered_set<std::string_view> keys;
      for (const MetaEntry& e : metadata.entries()) {
        if (e.key.empty()) return usage_error("cannot write a metadata entry with an empty key");
        if (!keys.insert(e.key).second) return usage_error("duplicate metadata key '" + e.key + "'");
        header.put_string(e.key);
        header.put(static_cast<uint32_t>(value_type_of(e.value.type)));
        QF_RETURN_IF_ERROR(put_value(header, e.value, "metadata '" + e.key + "'"));
      }
      for (size_t i = 0; i < tensors.size(); ++i) {
        const Planned& p = plan[i];
        header.put_string(tensors[i].name);
        header.put(p.n_dims);
        for (uint32_t d = 0; d < p.n_dims; ++d) header.put(p.ne[d]);
        header.put(p.type_id);
        header.put(p.offset);
      }
      header.pad_to(alignment_);
      QF_RETURN_IF_ERROR(sink_.write(header.bytes()));

      sizes_.clear();
      for (const Planned& p : plan) sizes_.push_back(p.n_bytes);
      names_.clear();
      for (const TensorInfo& t : tensors) names_.push_back(t.name);
      state_ = State::writing;
      std::vector<size_t> order(tensors.size());
      for (size_t i = 0; i < order.size(); ++i) order[i] = i;
      return order;
    } catch (const std::bad_alloc&) {
      return internal_error("out of memory while building the GGUF header");
    }
  }

  Status write_tensor(size_t index, std::span<const std::byte> bytes) override {
    if (state_ != State::writing) return internal_error("GGUF writer: write_tensor() outside begin()/finish()");
    if (index != next_) {
      state_ = State::failed;
      return internal_error("GGUF writer: tensor #" + std::to_string(index) + " written out of order, expected #" +
                            std::to_string(next_));
    }
    if (bytes.size() != sizes_[index]) {
      state_ = State::failed;
      return internal_error("GGUF writer: got " + std::to_string(bytes.size()) + " bytes, expected " +
                            std::to_string(sizes_[index]))
          .with_tensor(names_[index]);
    }
    Status s = sink_.write(bytes);
    if (s.ok()) s = write_zeros(padded(bytes.size(), alignment_) - bytes.size());
    if (!s.ok()) {
      state_ = State::failed;
      return std::move(s).with_tensor(names_[index]);
    }
    ++next_;
    return {};
  }

  Status finish() override {
    if (state_ != State::writing) return internal_error("GGUF writer: finish() without a successful begin()");
    if (next_ != sizes_.size())
      return internal_error("GGUF writer: finish() after " + std::to_string(next_) + " of " +
                            std::to_string(sizes_.size()) + " tensors");
    state_ = State::finished;
    return {};
  }

 private:
  enum class State { fresh, writing, finished, failed };

  Status read_alignment(const Metadata& metadata) {
    const MetaValue* v = metadata.find(kAlignmentKey);
    if (v == nullptr) return {};
    if (v->type != MetaType::u32)
      return usage_error(std::string(kAlignmentKey) + " must be a u32, not " + meta_type_name(v->type));
    if (v->integer == 0 || (v->integer & (v->integer - 1)) != 0 || v->integer > std::numeric_limits<uint32_t>::max())
      return usage_error(std::string(kAlignmentKey) + " must be a non-zero power of two, not " +
                         std::to_string(v->integer));
    alignment_ = v->integer;
    return {};
  }

  Status plan_tensors(const std::vector<TensorInfo>& tensors, std::vector<Planned>& plan) {
    std::unordered_set<std::string_view> names;
    uint64_t offset = 0;
    for (size_t i = 0; i < tensors.size(); ++i) {
      Status s = plan_tensor(tensors[i], plan[i]);
      if (s.ok() && !names.insert(tensors[i].name).second) s = usage_error("duplicate tensor name");
      if (!s.ok()) return std::move(s).with_tensor(tensors[i].name);
      plan[i].offset = offset;
      if (__builtin_add_overflow(offset, padded(plan[i].n_bytes, alignment_), &offset))
        return usage_error("the data section overflows 64 bits").with_tensor(tensors[i].name);
    }
    return {};
  }

  Status plan_tensor(const TensorInfo& t, Planned& p) {
    if (t.name.size() > kMaxNameBytes)
      return usage_error("name is " + std::to_string(t.name.size()) + " bytes long; GGUF allows at most " +
                         std::to_string(kMaxNameBytes));
    // ggml stores ne[] innermost first; outer dimensions of size 1 beyond the fourth carry
    // no information, so only real extra dimensions are refused.
    const size_t rank = t.shape.size();
    for (size_t i = 0; i + kMaxDims < rank; ++i)
      if (t.shape[i] != 1)
        return usage_error("shape " + shape_to_string(t.shape) + " has more than " + std::to_string(kMaxDims) +
                           " dimensions, which GGUF cannot store");
    for (size_t d = 0; d < kMaxDims && d < rank; ++d) p.ne[d] = t.shape[rank - 1 - d];
    // ggml_n_dims: the highest dimension that is not 1, so [4096, 1] is stored 1-D. A zero
    // dimension is kept, or an empty tensor would be described as a non-empty one.
    p.n_dims = 1;
    for (uint32_t d = 1; d < kMaxDims; ++d)
      if (p.ne[d] != 1) p.n_dims = d + 1;

    QF_ASSIGN_OR_RETURN(p.type_id, id_for_dtype(t.dtype, catalog_));
    QF_ASSIGN_OR_RETURN(DType stored, dtype_for_id(p.type_id, catalog_));
    if (!stored.fits_row(p.ne[0]))
      return usage_error("row length " + std::to_string(p.ne[0]) + " is not a multiple of the " + stored.name +
                         " block size " + std::to_string(stored.block_elems));
    uint64_t n_bytes = p.ne[0] / stored.block_elems;
    bool overflow = __builtin_mul_overflow(n_bytes, uint64_t{stored.block_bytes}, &n_bytes);
    for (uint32_t d = 1; d < kMaxDims; ++d) overflow = overflow || __builtin_mul_overflow(n_bytes, p.ne[d], &n_bytes);
    if (overflow) return usage_error("byte size overflows 64 bits");
    if (n_bytes != t.n_bytes)
      return internal_error("n_bytes is " + std::to_string(t.n_bytes) + " but shape " + shape_to_string(t.shape) +
                            " of " + stored.name + " needs " + std::to_string(n_bytes));
    p.n_bytes = n_bytes;
    return {};
  }

  Status write_zeros(uint64_t n) {
    static constexpr std::byte zeros[4096] = {};
    while (n > 0) {
      const uint64_t chunk = std::min<uint64_t>(n, sizeof(zeros));
      QF_RETURN_IF_ERROR(sink_.write({zeros, static_cast<size_t>(chunk)}));
      n -= chunk;
    }
    return {};
  }

  OutputSink& sink_;
  const CodecCatalog& catalog_;
  State state_ = State::fresh;
  uint64_t alignment_ = kDefaultAlignment;
  std::vector<uint64_t> sizes_;
  std::vector<std::string> names_;
  size_t next_ = 0;
  bool allow_unloadable_ = false;
};

}  // namespace

// Options (declared in plugin.cpp): `allow_unloadable` (1/true) writes files that
// check_loadable() would refuse.
Result<std::unique_ptr<Writer>> create_writer(OutputSink& sink, const CodecCatalog& catalog,
                                              const WriterOptions& options) {
  const auto allow = options.find(kAllowUnloadableOption);
  const bool allow_unloadable = allow != options.end() && (allow->second == "1" || allow->second == "true");
  return std::unique_ptr<Writer>(std::make_unique<GgufWriter>(sink, catalog, allow_unloadable));
}

}  // namespace quantflow::gguf

namespace quantflow::gguf {

void record_file_type(Metadata& metadata, uint32_t file_type) {
  static constexpr uint32_t kQuantizationVersion = 2;  // GGML_QNT_VERSION
  metadata.set("general.quantization_version", MetaValue::make_u32(kQuantizationVersion));
  metadata.set(kFileTypeKey, MetaValue::make_u32(file_type));
}

}  // namespace quantflow::gguf

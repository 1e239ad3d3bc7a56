// GGUF parsing: the fixed header, alignment, tensor infos and data layout (metadata_parser.cpp
// reads the key/value section between them).
#include "parser.hpp"

#include <algorithm>
#include <limits>
#include <numeric>

#include "gguf_plugin.hpp"
#include "quantflow/utf8.hpp"

namespace quantflow::gguf {

namespace {

constexpr uint64_t kHeaderBytes = 24;
// Smallest possible encodings, used to bound counts before anything is reserved.
constexpr uint64_t kMinKvBytes = 8 + 1 + 4 + 1;              // key length, 1-byte key, type, u8 value
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;  // empty name, n_dims, one dim, type, offset

bool is_power_of_two(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

}  // namespace

Status Parser::parse() {
  QF_RETURN_IF_ERROR(parse_header());
  QF_RETURN_IF_ERROR(parse_metadata());
  QF_RETURN_IF_ERROR(parse_alignment());
  QF_RETURN_IF_ERROR(parse_tensor_infos());
  return check_data_layout();
}

Status Parser::truncated(const std::string& what) const {
  if (out_.file_->head().size() < file_size_)
    return bad_input("the GGUF header runs past the first " + std::to_string(kCompressedHeadLimit >> 20) +
                     " MiB that are decoded for headers of a compressed input (inside " + what +
                     "); decompress the file first");
  return bad_input("truncated file: it ends inside " + what + " (file size " + std::to_string(file_size_) + " bytes)");
}

Status Parser::parse_header() {
  uint32_t magic = 0;
  if (!cur_.read(magic)) return bad_input("file too short to be GGUF (" + std::to_string(file_size_) + " bytes)");
  if (magic != kMagic) {
    const std::string legacy = describe_legacy_magic(reinterpret_cast<const unsigned char*>(out_.file_->data()),
                                                     static_cast<size_t>(std::min<uint64_t>(file_size_, 8)));
    if (!legacy.empty()) return bad_input(legacy);
    return bad_input("not a GGUF file (bad magic)");
  }
  uint32_t version = 0;
  if (!cur_.read(version))
    return bad_input("truncated GGUF header: the file has " + std::to_string(file_size_) + " bytes, the header needs " +
                     std::to_string(kHeaderBytes));
  if (version == 0) return bad_input("GGUF version 0 is invalid");
  // A big-endian writer stores the same small version number byte-swapped.
  if ((version & 0x0000FFFFu) == 0)
    return bad_input("big-endian GGUF file (version field reads " + std::to_string(version) +
                     " little-endian); quantflow reads little-endian GGUF only");
  // v2 has v3's layout (v3 only added the big-endian convention), so one parser reads
  // both; v1's 32-bit counts and lengths are refused like ggml does.
  if (version == 1)
    return bad_input(
        "GGUF v1 is not supported (its counts and lengths are 32-bit; ggml no longer reads it "
        "either); convert it with a current llama.cpp first");
  if (version < kMinVersion || version > kVersion)
    return bad_input("GGUF version " + std::to_string(version) + " is not supported; quantflow reads GGUF v" +
                     std::to_string(kMinVersion) + " and v" + std::to_string(kVersion));
  out_.version_ = version;
  if (file_size_ < kHeaderBytes)
    return bad_input("truncated GGUF header: the file has " + std::to_string(file_size_) + " bytes, the header needs " +
                     std::to_string(kHeaderBytes));
  cur_.read(n_tensors_);
  cur_.read(n_kv_);
  if (n_kv_ > cur_.remaining() / kMinKvBytes)
    return bad_input("header claims " + std::to_string(n_kv_) + " metadata entries, more than the remaining " +
                     std::to_string(cur_.remaining()) + " bytes can hold");
  return {};
}

Status Parser::parse_alignment() {
  const MetaValue* value = out_.metadata_.find(kAlignmentKey);
  if (value == nullptr) return {};
  if (value->type != MetaType::u32)
    return bad_input(std::string(kAlignmentKey) + " must be a u32, not " + meta_type_name(value->type));
  if (!is_power_of_two(value->integer))
    return bad_input(std::string(kAlignmentKey) + " must be a non-zero power of two, not " +
                     std::to_string(value->integer));
  out_.alignment_ = value->integer;
  return {};
}

Status Parser::parse_tensor_infos() {
  uint64_t n_tensors = n_tensors_;
  if (n_tensors > cur_.remaining() / kMinTensorInfoBytes)
    return bad_input("header claims " + std::to_string(n_tensors) + " tensors, more than the remaining " +
                     std::to_string(cur_.remaining()) + " bytes can hold");
  const uint64_t start = cur_.position();
  auto& tensors = out_.tensors_;
  tensors.reserve(static_cast<size_t>(n_tensors));
  std::unordered_set<std::string> names;
  names.reserve(static_cast<size_t>(n_tensors));
  for (uint64_t i = 0; i < n_tensors; ++i) {
    QF_ASSIGN_OR_RETURN(std::string_view name_view, read_string("the name of tensor info #" + std::to_string(i)));
    if (const size_t bad = invalid_utf8_offset(name_view); bad != std::string_view::npos)
      return bad_input("the name of tensor info #" + std::to_string(i) + " is not valid UTF-8 (byte " +
                       std::to_string(bad) + ")");
    std::string name(name_view);
    auto status = parse_tensor_info(name, names);
    if (!status.ok()) return std::move(status).with_tensor(name);
  }
  out_.tensor_info_bytes_ = cur_.position() - start;
  return {};
}

Status Parser::parse_tensor_info(const std::string& name, std::unordered_set<std::string>& names) {
  if (name.size() > kMaxNameBytes)
    return bad_input("name is " + std::to_string(name.size()) + " bytes long; GGUF allows at most " +
                     std::to_string(kMaxNameBytes));
  if (!names.insert(name).second) return bad_input("duplicate tensor name");
  uint32_t n_dims = 0;
  if (!cur_.read(n_dims)) return truncated("the tensor info");
  if (n_dims == 0 || n_dims > kMaxDims)
    return bad_input("n_dims is " + std::to_string(n_dims) + "; GGUF allows 1 to " + std::to_string(kMaxDims));
  uint64_t ne[kMaxDims] = {1, 1, 1, 1};
  uint64_t elements = 1;
  for (uint32_t d = 0; d < n_dims; ++d) {
    if (!cur_.read(ne[d])) return truncated("the tensor info");
    if (ne[d] > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return bad_input("dimension " + std::to_string(d) + " is negative");
    if (__builtin_mul_overflow(elements, ne[d], &elements) ||
        elements > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return bad_input("element count overflows 64 bits");
  }
  uint32_t type_id = 0;
  uint64_t offset = 0;
  if (!cur_.read(type_id) || !cur_.read(offset)) return truncated("the tensor info");
  QF_ASSIGN_OR_RETURN(DType dtype, dtype_for_id(type_id, catalog_));
  if (!dtype.fits_row(ne[0]))
    return bad_input("row length " + std::to_string(ne[0]) + " is not a multiple of the " + dtype.name +
                     " block size " + std::to_string(dtype.block_elems));
  uint64_t n_bytes = ne[0] / dtype.block_elems;
  if (__builtin_mul_overflow(n_bytes, uint64_t{dtype.block_bytes}, &n_bytes))
    return bad_input("byte size overflows 64 bits");
  for (uint32_t d = 1; d < kMaxDims; ++d)
    if (__builtin_mul_overflow(n_bytes, ne[d], &n_bytes)) return bad_input("byte size overflows 64 bits");
  if (offset % out_.alignment_ != 0)
    return bad_input("data offset " + std::to_string(offset) + " is not a multiple of the alignment " +
                     std::to_string(out_.alignment_));

  TensorInfo info;
  info.name = name;
  info.dtype = std::move(dtype);
  info.shape.assign(std::make_reverse_iterator(ne + n_dims), std::make_reverse_iterator(ne));
  info.n_bytes = n_bytes;
  info.offset = offset;
  out_.tensors_.push_back(std::move(info));
  return {};
}

Status Parser::check_data_layout() {
  const uint64_t end_of_infos = cur_.position();
  const uint64_t alignment = out_.alignment_;
  uint64_t data_offset = end_of_infos + (alignment - end_of_infos % alignment) % alignment;
  out_.data_offset_ = data_offset;
  auto& tensors = out_.tensors_;
  for (const TensorInfo& t : tensors) {
    uint64_t begin = 0, end = 0;
    if (__builtin_add_overflow(data_offset, t.offset, &begin) || __builtin_add_overflow(begin, t.n_bytes, &end) ||
        end > file_size_)
      return bad_input("truncated tensor data: " + std::to_string(t.n_bytes) + " bytes at data offset " +
                       std::to_string(t.offset) + " run past the end of the file (" + std::to_string(file_size_) +
                       " bytes)")
          .with_tensor(t.name);
  }
  // Any aligned layout is accepted, not only ggml's canonical one, but no two tensors may
  // share bytes: a copy would otherwise silently duplicate or corrupt data.
  std::vector<size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return tensors[a].offset < tensors[b].offset; });
  const TensorInfo* previous = nullptr;
  for (size_t i : order) {
    const TensorInfo& t = tensors[i];
    if (t.n_bytes == 0) continue;
    if (previous != nullptr && previous->offset + previous->n_bytes > t.offset)
      return bad_input("data overlaps the data of tensor '" + previous->name + "'").with_tensor(t.name);
    previous = &t;
  }
  return {};
}

}  // namespace quantflow::gguf

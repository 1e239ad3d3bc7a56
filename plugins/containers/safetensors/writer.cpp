#include "writer.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "conventions.hpp"
#include "dtypes.hpp"
#include "header.hpp"
#include "json_text.hpp"

namespace quantflow::safetensors {

namespace {

// What a tensor with no safetensors dtype is stored as (the quantflow.tensor convention).
const DType kBytes{"u8", 1, 1, DTypeKind::integer};

struct Stored {
  const DTypeEntry* dtype;
  Shape shape;
  bool as_bytes;  // quantflow.tensor convention
};

Result<Stored> stored_form(const TensorInfo& t, const CodecCatalog& catalog) {
  const auto fail = [&](std::string message) { return bad_input(std::move(message)).with_tensor(t.name); };
  if (!t.dtype.is_valid()) return fail("has an invalid dtype");
  // The quantflow.tensor convention records block geometry only; blocks that cross rows or a
  // tensor-wide prefix would not survive the trip.
  if (t.dtype.whole_tensor)
    return fail("safetensors cannot hold " + t.dtype.name +
                ", a whole-tensor encoding (blocks across rows); write it to a container that defines it, such as APR");
  uint64_t elems = 0, bytes = 0;
  if (!checked_element_count(t.shape, elems) ||
      !checked_byte_count(elems, t.dtype.block_elems, t.dtype.block_bytes, bytes))
    return fail("shape " + shape_to_string(t.shape) + " is not a whole number of " + t.dtype.name + " blocks");
  if (bytes != t.n_bytes)
    return fail(t.dtype.name + " " + shape_to_string(t.shape) + " needs " + std::to_string(bytes) +
                " bytes, but the tensor declares " + std::to_string(t.n_bytes));
  if (t.dtype.kind != DTypeKind::quantized)
    if (auto as_is = resolve_dtype(t.dtype, catalog)) return Stored{as_is->entry, t.shape, false};
  return Stored{find_storage_only(kBytes), Shape{t.n_bytes}, true};
}

void append_u64_array(std::string& out, const std::vector<uint64_t>& values) {
  out += '[';
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(values[i]);
  }
  out += ']';
}

Status check_text(std::string_view text, const std::string& what) {
  if (invalid_utf8_offset(text) != std::string_view::npos)
    return bad_input(what + " is not valid UTF-8, which a safetensors header cannot carry");
  return {};
}

}  // namespace

Result<PlannedHeader> plan_header(const Metadata& metadata, const std::vector<TensorInfo>& tensors,
                                  const CodecCatalog& catalog) {
  // std::map<std::string> compares with char_traits<char>, i.e. unsigned bytes: byte order.
  std::map<std::string, std::string> meta;
  for (const auto& e : metadata.entries()) {
    QF_RETURN_IF_ERROR(check_text(e.key, "metadata key '" + e.key + "'"));
    if (is_reserved_key(e.key))
      return usage_error("metadata key '" + e.key + "' is reserved for quantflow's safetensors conventions");
    if (meta.count(e.key)) return bad_input("metadata key '" + e.key + "' appears twice");
    if (e.value.type == MetaType::string) {
      QF_RETURN_IF_ERROR(check_text(e.value.text, "the value of metadata key '" + e.key + "'"));
      meta.emplace(e.key, e.value.text);
    } else {
      meta.emplace(e.key, std::string());  // placeholder for the duplicate check
    }
  }
  // Non-string values live only in the typed list.
  for (const auto& e : metadata.entries())
    if (e.value.type != MetaType::string) meta.erase(e.key);
  if (needs_typed_metadata(metadata)) {
    QF_ASSIGN_OR_RETURN(auto typed, encode_typed_metadata(metadata));
    meta.emplace(std::string(kTypedMetadataKey), std::move(typed));
  }

  std::vector<Stored> stored;
  stored.reserve(tensors.size());
  std::set<std::string_view> names;
  for (const auto& t : tensors) {
    QF_RETURN_IF_ERROR(check_text(t.name, "the tensor name").with_tensor(t.name));
    if (t.name == "__metadata__")
      return bad_input("the name '__metadata__' is reserved by safetensors").with_tensor(t.name);
    if (!names.insert(t.name).second) return bad_input("two tensors have this name").with_tensor(t.name);
    QF_ASSIGN_OR_RETURN(auto s, stored_form(t, catalog));
    if (s.as_bytes) meta.emplace(std::string(kTensorKeyPrefix) + t.name, encode_tensor_info(t));
    stored.push_back(std::move(s));
  }

  PlannedHeader plan;
  plan.order.resize(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) plan.order[i] = i;
  std::sort(plan.order.begin(), plan.order.end(), [&](size_t a, size_t b) {
    if (stored[a].dtype->rank != stored[b].dtype->rank) return stored[a].dtype->rank > stored[b].dtype->rank;
    return tensors[a].name < tensors[b].name;
  });
  if (!std::is_sorted(plan.order.begin(), plan.order.end())) {
    std::vector<std::string> declared;
    declared.reserve(tensors.size());
    for (const auto& t : tensors) declared.push_back(t.name);
    meta.emplace(std::string(kTensorOrderKey), encode_tensor_order(declared));
  }

  std::string& out = plan.json;
  out += '{';
  if (!meta.empty()) {
    out += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [key, value] : meta) {
      if (!first) out += ',';
      first = false;
      append_json_string(out, key);
      out += ':';
      append_json_string(out, value);
    }
    out += '}';
  }
  uint64_t offset = 0;
  for (size_t i : plan.order) {
    if (out.size() > 1) out += ',';
    append_json_string(out, tensors[i].name);
    out += ":{\"dtype\":\"";
    out += stored[i].dtype->id;
    out += "\",\"shape\":";
    append_u64_array(out, stored[i].shape);
    out += ",\"data_offsets\":";
    append_u64_array(out, {offset, offset + tensors[i].n_bytes});
    out += '}';
    offset += tensors[i].n_bytes;
  }
  out += '}';
  out.append((8 - out.size() % 8) % 8, ' ');
  if (out.size() > kMaxHeaderLength)
    return bad_input("the header would be " + std::to_string(out.size()) + " bytes, over the safetensors limit of " +
                     std::to_string(kMaxHeaderLength));
  return plan;
}

Result<std::vector<size_t>> FileWriter::begin(const Metadata& metadata, const std::vector<TensorInfo>& tensors) {
  // Allocation failures (a huge vocabulary in metadata) must not escape the plugin.
  try {
    return begin_unchecked(metadata, tensors);
  } catch (const std::exception& e) {
    return internal_error(std::string("safetensors writer failed: ") + e.what()).with_file(sink_.target_path());
  }
}

Result<std::vector<size_t>> FileWriter::begin_unchecked(const Metadata& metadata,
                                                        const std::vector<TensorInfo>& tensors) {
  if (begun_) return internal_error("begin() called twice").with_file(sink_.target_path());
  auto plan = plan_header(metadata, tensors, catalog_);
  if (!plan.ok()) return plan.take_status().with_file(sink_.target_path());
  begun_ = true;
  tensors_ = tensors;
  order_ = plan->order;
  std::byte length[8];
  uint64_t n = plan->json.size();
  for (auto& b : length) {
    b = static_cast<std::byte>(n & 0xFF);
    n >>= 8;
  }
  QF_RETURN_IF_ERROR(sink_.write(length));
  QF_RETURN_IF_ERROR(sink_.write(std::as_bytes(std::span(plan->json.data(), plan->json.size()))));
  return std::move(plan->order);
}

Status FileWriter::write_tensor(size_t index, std::span<const std::byte> bytes) {
  if (!begun_) return internal_error("write_tensor() before begin()").with_file(sink_.target_path());
  if (next_ >= order_.size() || order_[next_] != index) {
    const std::string expected = next_ < order_.size() ? "tensor #" + std::to_string(order_[next_]) : "no more tensors";
    return internal_error("tensor #" + std::to_string(index) + " written out of order (expected " + expected + ")")
        .with_tensor(index < tensors_.size() ? tensors_[index].name : std::string())
        .with_file(sink_.target_path());
  }
  const TensorInfo& t = tensors_[index];
  if (bytes.size() != t.n_bytes)
    return internal_error("got " + std::to_string(bytes.size()) + " bytes, declared " + std::to_string(t.n_bytes))
        .with_tensor(t.name)
        .with_file(sink_.target_path());
  QF_RETURN_IF_ERROR(sink_.write(bytes));
  ++next_;
  return {};
}

Status FileWriter::finish() {
  if (!begun_) return internal_error("finish() before begin()").with_file(sink_.target_path());
  if (next_ != order_.size())
    return internal_error("finish() after " + std::to_string(next_) + " of " + std::to_string(order_.size()) +
                          " tensors")
        .with_tensor(tensors_[order_[next_]].name)
        .with_file(sink_.target_path());
  return {};
}

}  // namespace quantflow::safetensors

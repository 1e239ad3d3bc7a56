#include "pipeline/analysis/diff.hpp"

#include <algorithm>
#include <unordered_map>

#include "pipeline/analysis/tensor_compare.hpp"

namespace quantflow::pipeline {

namespace {

std::optional<size_t> first_differing_element(const MetaValue& a, const MetaValue& b) {
  const size_t common = std::min(a.elements.size(), b.elements.size());
  for (size_t i = 0; i < common; ++i)
    if (!(a.elements[i] == b.elements[i])) return i;
  if (a.elements.size() != b.elements.size()) return common;
  return std::nullopt;
}

MetadataDifference metadata_difference(const std::string& key, Presence presence, const MetaValue* a,
                                       const MetaValue* b) {
  MetadataDifference d;
  d.key = key;
  d.presence = presence;
  d.a = a;
  d.b = b;
  return d;
}

TensorDifference tensor_difference(const std::string& name, Presence presence, const TensorInfo* a,
                                   const TensorInfo* b) {
  TensorDifference d;
  d.name = name;
  d.presence = presence;
  d.a = a;
  d.b = b;
  return d;
}

std::vector<MetadataDifference> diff_metadata(const Metadata& a, const Metadata& b) {
  std::vector<MetadataDifference> out;
  for (const auto& entry : a.entries()) {
    const MetaValue* other = b.find(entry.key);
    if (!other) {
      out.push_back(metadata_difference(entry.key, Presence::only_in_a, &entry.value, nullptr));
      continue;
    }
    if (entry.value == *other) continue;
    MetadataDifference d = metadata_difference(entry.key, Presence::in_both, &entry.value, other);
    d.type_differs = entry.value.type != other->type ||
                     (entry.value.type == MetaType::array && entry.value.element_type != other->element_type);
    if (!d.type_differs && entry.value.type == MetaType::array)
      d.first_differing_index = first_differing_element(entry.value, *other);
    out.push_back(std::move(d));
  }
  for (const auto& entry : b.entries())
    if (!a.contains(entry.key))
      out.push_back(metadata_difference(entry.key, Presence::only_in_b, nullptr, &entry.value));
  return out;
}

std::optional<uint64_t> first_differing_byte(std::span<const std::byte> a, std::span<const std::byte> b) {
  const auto mismatch = std::mismatch(a.begin(), a.end(), b.begin(), b.end());
  if (mismatch.first == a.end() && mismatch.second == b.end()) return std::nullopt;
  return static_cast<uint64_t>(mismatch.first - a.begin());
}

// Compares one tensor present in both files; returns nullopt when they are the same.
std::optional<TensorDifference> diff_tensor(const core::Registry& registry, const Reader& ra, size_t ia,
                                            const Reader& rb, size_t ib, const DiffOptions& options) {
  const TensorInfo& a = ra.tensors()[ia];
  const TensorInfo& b = rb.tensors()[ib];
  TensorDifference d = tensor_difference(a.name, Presence::in_both, &a, &b);
  d.dtype_differs = !(a.dtype == b.dtype);
  d.shape_differs = a.shape != b.shape;
  if (d.shape_differs) return d;  // values cannot be compared element by element

  auto data_a = ra.read(ia);
  auto data_b = rb.read(ib);
  if (!data_a.ok() || !data_b.ok()) {
    d.note = "cannot read: " + (data_a.ok() ? data_b.status() : data_a.status()).message();
    return d;
  }
  if (!d.dtype_differs) {
    d.first_differing_byte = first_differing_byte(data_a->bytes, data_b->bytes);
    d.bytes_differ = d.first_differing_byte.has_value();
    if (!d.bytes_differ) return std::nullopt;
    if (!options.measure_error) return d;
  }
  const EncodedTensor ea{&a, data_a->bytes, registry.find(a.dtype.name)};
  const EncodedTensor eb{&b, data_b->bytes, registry.find(b.dtype.name)};
  if (!ea.decodable() || !eb.decodable()) {
    d.note = "no loaded codec decodes " + (ea.decodable() ? b.dtype.name : a.dtype.name);
    return d;
  }
  auto stats = compare_decoded(eb, ea);  // B measured against A
  if (!stats.ok()) {
    d.note = stats.status().message();
    return d;
  }
  d.max_abs_error = stats->max_abs;
  d.rel_rmse = stats->rel_rmse;
  if (stats->candidate_non_finite.count > 0)
    d.note = std::to_string(stats->candidate_non_finite.count) + " NaN/Inf values in B where A is finite";
  return d;
}

std::string container_label(const Reader& r) {
  return r.container() + (r.version().empty() ? "" : " (version " + r.version() + ")");
}

}  // namespace

Result<ModelDiff> diff_models(const core::Registry& registry, const std::string& path_a, const std::string& path_b,
                              const DiffOptions& options) {
  ModelDiff diff;
  QF_ASSIGN_OR_RETURN(diff.a, registry.open_reader(path_a));
  QF_ASSIGN_OR_RETURN(diff.b, registry.open_reader(path_b));
  const Reader& a = *diff.a;
  const Reader& b = *diff.b;
  if (container_label(a) != container_label(b))
    diff.container_difference = container_label(a) + " vs " + container_label(b);
  diff.metadata = diff_metadata(a.metadata(), b.metadata());

  std::unordered_map<std::string, size_t> index_b;
  for (size_t i = 0; i < b.tensors().size(); ++i) index_b.emplace(b.tensors()[i].name, i);
  // A tensor's bytes are read when B has it in the same shape, and so are B's.
  auto bytes_read = [&](const TensorInfo& t) -> uint64_t {
    const auto match = index_b.find(t.name);
    if (match == index_b.end() || b.tensors()[match->second].shape != t.shape) return 0;
    return t.n_bytes + b.tensors()[match->second].n_bytes;
  };
  ReadProgress progress{.tensors_total = a.tensors().size()};
  for (const auto& t : a.tensors()) progress.bytes_total += bytes_read(t);
  if (options.on_progress) options.on_progress(progress);

  std::vector<bool> matched_b(b.tensors().size(), false);
  for (size_t i = 0; i < a.tensors().size(); ++i) {
    const TensorInfo& t = a.tensors()[i];
    const auto match = index_b.find(t.name);
    if (match == index_b.end()) {
      diff.tensors.push_back(tensor_difference(t.name, Presence::only_in_a, &t, nullptr));
    } else {
      matched_b[match->second] = true;
      auto d = diff_tensor(registry, a, i, b, match->second, options);
      a.release(i);
      b.release(match->second);
      if (d) diff.tensors.push_back(std::move(*d));
    }
    ++progress.tensors_done;
    progress.last = &t;
    progress.last_bytes = bytes_read(t);
    progress.bytes_done += progress.last_bytes;
    if (options.on_progress) options.on_progress(progress);
  }
  for (size_t i = 0; i < b.tensors().size(); ++i)
    if (!matched_b[i])
      diff.tensors.push_back(tensor_difference(b.tensors()[i].name, Presence::only_in_b, nullptr, &b.tensors()[i]));
  return diff;
}

}  // namespace quantflow::pipeline

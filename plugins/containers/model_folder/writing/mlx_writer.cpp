#include "writing/mlx_writer.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "reading/folder_reader.hpp"
#include "safetensors/conventions.hpp"

namespace quantflow::model_folder {

namespace {

// The model's metadata as `__metadata__` entries: config.json lives in its own file, and
// "format" is always "mlx" (mlx-lm's loader does not check it, other tools do).
Result<nlohmann::json> header_metadata(const Metadata& metadata) {
  Metadata kept;
  for (const auto& entry : metadata.entries())
    if (entry.key != kConfigKey && entry.key != "format") kept.set(entry.key, entry.value);
  nlohmann::json out = nlohmann::json::object();
  out["format"] = "mlx";
  for (const auto& entry : kept.entries())
    if (entry.value.type == MetaType::string) out[entry.key] = entry.value.text;
  if (safetensors::needs_typed_metadata(kept)) {
    QF_ASSIGN_OR_RETURN(auto typed, safetensors::encode_typed_metadata(kept));
    out[std::string(safetensors::kTypedMetadataKey)] = std::move(typed);
  }
  return out;
}

Status write_bytes(OutputSink& sink, std::span<const std::byte> bytes) { return sink.write(bytes); }

}  // namespace

Result<std::vector<size_t>> MlxWriter::begin(const Metadata& metadata, const std::vector<TensorInfo>& tensors) {
  if (begun_) return internal_error("begin() called twice");
  begun_ = true;
  nlohmann::json header = nlohmann::json::object();
  QF_ASSIGN_OR_RETURN(header["__metadata__"], header_metadata(metadata));
  uint64_t offset = 0;
  for (const auto& tensor : tensors) {
    QF_ASSIGN_OR_RETURN(auto module, stored_module(tensor, catalog_));
    for (const auto& part : module.parts) {
      if (header.contains(part.name))
        return bad_input(fmt::format("two tensors would be stored as '{}'", part.name)).with_tensor(tensor.name);
      header[part.name] = {
          {"dtype", part.dtype_id}, {"shape", part.shape}, {"data_offsets", {offset, offset + part.n_bytes}}};
      offset += part.n_bytes;
    }
    modules_.push_back(std::move(module));
    sizes_.push_back(tensor.n_bytes);
  }
  std::string json = header.dump();
  json.append((8 - json.size() % 8) % 8, ' ');  // the data starts 8-aligned (safetensors.md §4)
  const uint64_t n = json.size();
  std::array<std::byte, 8> length{};
  for (int i = 0; i < 8; ++i) length[i] = static_cast<std::byte>((n >> (8 * i)) & 0xff);
  QF_RETURN_IF_ERROR(write_bytes(sink_, length));
  QF_RETURN_IF_ERROR(write_bytes(sink_, std::as_bytes(std::span(json.data(), json.size()))));
  std::vector<size_t> order(tensors.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  return order;
}

Status MlxWriter::write_tensor(size_t index, std::span<const std::byte> bytes) {
  if (!begun_ || index != next_ || index >= modules_.size())
    return internal_error(fmt::format("tensor #{} written out of order", index));
  if (bytes.size() != sizes_[index]) return internal_error(fmt::format("tensor #{} has the wrong size", index));
  ++next_;
  const StoredModule& module = modules_[index];
  if (!module.params) return write_bytes(sink_, bytes);
  std::vector<std::byte> weight(module.layout.weight_bytes());
  std::vector<std::byte> scales(module.layout.scales_bytes());
  std::vector<std::byte> biases(module.layout.biases ? module.layout.scales_bytes() : 0);
  deinterleave(module.layout, bytes, weight, scales, biases);
  QF_RETURN_IF_ERROR(write_bytes(sink_, weight));
  QF_RETURN_IF_ERROR(write_bytes(sink_, scales));
  return write_bytes(sink_, biases);
}

Status MlxWriter::finish() {
  if (next_ != modules_.size())
    return internal_error(fmt::format("finish() after {} of {} tensors", next_, modules_.size()));
  return {};
}

}  // namespace quantflow::model_folder

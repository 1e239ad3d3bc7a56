#include "pipeline/engine/file_type.hpp"

#include <charconv>
#include <string>

namespace quantflow::pipeline {

std::optional<uint32_t> file_type_id(const ContainerDescriptor& container, const CodecDescriptor& codec) {
  if (container.file_type == nullptr) return std::nullopt;
  const std::string_view id = container_id(codec, std::string(container.name) + ".file_type");
  uint32_t value = 0;
  const auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), value);
  if (id.empty() || ec != std::errc() || end != id.data() + id.size()) return std::nullopt;
  return value;
}

bool record_file_type(const ContainerDescriptor& container, Metadata& metadata, uint32_t file_type) {
  if (container.file_type == nullptr || container.file_type->record == nullptr) return false;
  container.file_type->record(metadata, file_type);
  return true;
}

void record_main_encoding(const ContainerDescriptor& container, Metadata& metadata, const CodecDescriptor& codec) {
  if (const auto id = file_type_id(container, codec)) record_file_type(container, metadata, *id);
}

std::optional<uint32_t> recorded_file_type(const ContainerDescriptor& container, const Metadata& metadata) {
  if (container.file_type == nullptr || container.file_type->metadata_key == nullptr) return std::nullopt;
  const MetaValue* value = metadata.find(container.file_type->metadata_key);
  if (value == nullptr || !value->is_integer()) return std::nullopt;
  return static_cast<uint32_t>(value->as_u64());
}

}  // namespace quantflow::pipeline

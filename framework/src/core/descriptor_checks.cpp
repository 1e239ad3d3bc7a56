// Sanity checks on a plugin's codec, container and transcoder descriptors before the registry indexes them.
#include "core/descriptor_checks.hpp"

#include <fmt/format.h>

namespace quantflow::core {

namespace {

// A block is a handful of elements (32, 256, a row-length group); these bounds only reject
// nonsense that would overflow size computations.
constexpr uint32_t kMaxBlockElems = 1u << 16;
constexpr uint32_t kMaxBlockBytes = 1u << 20;

}  // namespace

Status validate_codec(const CodecDescriptor* c) {
  if (c == nullptr || c->name == nullptr || c->name[0] == '\0') return bad_input("a codec descriptor has no name");
  if (c->block_elems == 0 || c->block_bytes == 0)
    return bad_input(fmt::format("codec '{}' declares an empty block ({} elements, {} bytes)", c->name, c->block_elems,
                                 c->block_bytes));
  if (c->block_elems > kMaxBlockElems || c->block_bytes > kMaxBlockBytes)
    return bad_input(fmt::format("codec '{}' declares an implausible block ({} elements, {} bytes)", c->name,
                                 c->block_elems, c->block_bytes));
  if (c->kind > static_cast<uint32_t>(DTypeKind::quantized))
    return bad_input(fmt::format("codec '{}' declares an unknown kind {}", c->name, c->kind));
  if (c->encode == nullptr && c->decode == nullptr)
    return bad_input(fmt::format("codec '{}' has neither encode nor decode", c->name));
  if (c->n_container_ids > kMaxEntries)
    return bad_input(
        fmt::format("codec '{}' declares {} container ids (at most {})", c->name, c->n_container_ids, kMaxEntries));
  if (c->n_container_ids > 0 && c->container_ids == nullptr)
    return bad_input(fmt::format("codec '{}' declares container ids but gives none", c->name));
  for (uint32_t i = 0; i < c->n_container_ids; ++i)
    if (c->container_ids[i].container == nullptr || c->container_ids[i].id == nullptr)
      return bad_input(fmt::format("codec '{}' has a null container id at index {}", c->name, i));
  if (const QfRowScale* rs = c->row_scale;
      rs != nullptr && (rs->scale_bytes_per_row == 0 || rs->values_dtype == nullptr || rs->scale_dtype == nullptr ||
                        rs->scale_suffix == nullptr || rs->scale_suffix[0] == '\0'))
    return bad_input(fmt::format("codec '{}' has an incomplete row_scale", c->name));
  return {};
}

Status validate_container(const ContainerDescriptor* c) {
  if (c == nullptr || c->name == nullptr || c->name[0] == '\0') return bad_input("a container descriptor has no name");
  if (c->probe == nullptr) return bad_input(fmt::format("container '{}' has no probe function", c->name));
  if (c->open_reader == nullptr && c->create_writer == nullptr)
    return bad_input(fmt::format("container '{}' can neither read nor write", c->name));
  return {};
}

Status validate_transcoder(const TranscoderDescriptor* t) {
  if (t == nullptr || t->from == nullptr || t->from[0] == '\0' || t->to == nullptr || t->to[0] == '\0')
    return bad_input("a transcoder descriptor does not name its source and target codecs");
  const std::string pair = fmt::format("transcoder '{} -> {}'", t->from, t->to);
  if (canonical_dtype_name(t->from) == canonical_dtype_name(t->to))
    return bad_input(pair + " converts a codec into itself");
  if (t->transcode == nullptr) return bad_input(pair + " has no transcode function");
  if (const uint32_t unknown = t->flags & ~uint32_t{QF_TRANSCODE_ALWAYS_EXACT}; unknown != 0)
    return bad_input(fmt::format("{} sets unknown flags 0x{:x}", pair, unknown));
  return {};
}

}  // namespace quantflow::core

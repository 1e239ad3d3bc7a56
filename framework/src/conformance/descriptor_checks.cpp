#include "conformance/descriptor_checks.hpp"

#include <algorithm>
#include <cctype>
#include <set>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace quantflow::conformance {

namespace {

constexpr uint32_t kKnownFlags = QF_CODEC_IMATRIX_REQUIRED | QF_CODEC_IMATRIX_USED | QF_CODEC_WHOLE_TENSOR;

bool present(const char* text) { return text != nullptr && text[0] != '\0'; }

// Users type names in any case and quantflow looks them up lower-case, so a name with an
// upper-case letter can never be selected; spaces and control characters cannot be typed
// in a recipe key or a --type value.
std::string name_problem(const char* name) {
  if (!present(name)) return "the name is empty";
  for (const char* p = name; *p; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if (std::isupper(c))
      return fmt::format(
          "name '{}' has upper-case letters; quantflow matches names lower-case ('{}'), so it could "
          "never be selected",
          name, canonical_dtype_name(name));
    if (std::isspace(c) || std::iscntrl(c)) return fmt::format("name '{}' contains a space or control character", name);
  }
  return {};
}

Outcome check_name(const char* kind, const char* name, const NameOwners& others) {
  if (std::string problem = name_problem(name); !problem.empty()) return fail(problem);
  if (const auto it = others.find(name); it != others.end())
    return fail(
        fmt::format("{} '{}' is also provided by {} on the plugin search path; quantflow loads only the first "
                    "plugin in search order that provides a name",
                    kind, name, it->second));
  return pass(fmt::format("'{}' is lower-case and unique on the plugin search path", name));
}

Outcome check_description(const char* description) {
  if (!present(description)) return fail("the description is empty; `quantflow plugins` shows it to users");
  return pass(fmt::format("\"{}\"", description));
}

bool plain_kind(uint32_t kind) { return kind != static_cast<uint32_t>(DTypeKind::quantized); }

const char* kind_name(uint32_t kind) {
  static constexpr const char* names[] = {"floating", "integer", "quantized"};
  return kind < std::size(names) ? names[kind] : "unknown";
}

Outcome check_geometry(const CodecDescriptor& c) {
  if (c.block_elems < 1 || c.block_bytes < 1)
    return fail(fmt::format("empty block ({} elements, {} bytes)", c.block_elems, c.block_bytes));
  if (c.kind > static_cast<uint32_t>(DTypeKind::quantized))
    return fail(fmt::format("unknown kind {} (0 floating, 1 integer, 2 quantized)", c.kind));
  if (plain_kind(c.kind) && c.block_elems != 1)
    return fail(fmt::format("a plain {} type must have blocks of 1 element, not {}", kind_name(c.kind), c.block_elems));
  if (const QfRowScale* rs = c.row_scale) {
    if (c.block_elems != 1)
      return fail(
          fmt::format("row-scaled values are stored with the tensor's own shape, so blocks must hold 1 "
                      "element, not {}",
                      c.block_elems));
    if (rs->scale_bytes_per_row < 1) return fail("row_scale.scale_bytes_per_row is 0");
    for (const auto& [field, value] : {std::pair{"values_dtype", rs->values_dtype}, {"scale_dtype", rs->scale_dtype}})
      if (std::string problem = name_problem(value); !problem.empty())
        return fail(fmt::format("row_scale.{}: {}", field, problem));
    if (!present(rs->scale_suffix)) return fail("row_scale.scale_suffix is empty");
    return pass(fmt::format("{} element, {} byte(s), kind {}, plus {} scale byte(s) per row stored as {}{} ({})",
                            c.block_elems, c.block_bytes, kind_name(c.kind), rs->scale_bytes_per_row, "NAME",
                            rs->scale_suffix, rs->scale_dtype));
  }
  return pass(fmt::format("{} element(s) in {} byte(s), kind {}", c.block_elems, c.block_bytes, kind_name(c.kind)));
}

Outcome check_flags(const CodecDescriptor& c) {
  if (const uint32_t unknown = c.flags & ~kKnownFlags; unknown != 0)
    return fail(fmt::format("unknown flag bits {:#x} (known: IMATRIX_REQUIRED {:#x}, IMATRIX_USED {:#x})", unknown,
                            static_cast<uint32_t>(QF_CODEC_IMATRIX_REQUIRED),
                            static_cast<uint32_t>(QF_CODEC_IMATRIX_USED)));
  std::string names;
  if (c.flags & QF_CODEC_IMATRIX_REQUIRED) names += "IMATRIX_REQUIRED";
  if (c.flags & QF_CODEC_IMATRIX_USED) names += names.empty() ? "IMATRIX_USED" : " | IMATRIX_USED";
  if (c.flags & QF_CODEC_WHOLE_TENSOR) names += names.empty() ? "WHOLE_TENSOR" : " | WHOLE_TENSOR";
  return pass(names.empty() ? "no flags" : names);
}

Outcome check_container_ids(const CodecDescriptor& c) {
  std::set<std::string_view> containers;
  std::string listed;
  for (uint32_t i = 0; i < c.n_container_ids; ++i) {
    const QfContainerId& id = c.container_ids[i];
    if (!present(id.container) || !present(id.id))
      return fail(fmt::format("container id {} has an empty container or id", i));
    if (!containers.insert(id.container).second)
      return fail(fmt::format("two ids for container '{}'; a container looks up one", id.container));
    listed += fmt::format("{}{}={}", listed.empty() ? "" : ", ", id.container, id.id);
  }
  if (listed.empty())
    return pass(c.row_scale ? "none: stored as plain values and scales (row_scale)"
                            : "none declared: only containers that store encodings by name can hold it");
  return pass(listed);
}

Check make(const char* subject, const char* name, const char* check, Outcome outcome) {
  return {subject, name ? name : "", check, outcome.verdict, std::move(outcome.reason)};
}

}  // namespace

Check check_plugin_descriptor(const core::PluginRecord& p) {
  auto check = [&]() -> Outcome {
    if (p.version.empty()) return fail(fmt::format("plugin '{}' has an empty version", p.name));
    if (p.description.empty()) return fail(fmt::format("plugin '{}' has no description", p.name));
    const std::string transcoders =
        p.transcoders.empty() ? "" : fmt::format(", {} transcoder(s)", p.transcoders.size());
    return pass(fmt::format("{} {}: {} codec(s), {} container(s){}", p.name, p.version, p.codecs.size(),
                            p.containers.size(), transcoders));
  };
  return make("plugin", nullptr, "descriptor", check());
}

std::vector<Check> check_codec_descriptor(const CodecDescriptor& c, const NameOwners& others) {
  return {make("codec", c.name, "name", check_name("codec", c.name, others)),
          make("codec", c.name, "description", check_description(c.description)),
          make("codec", c.name, "geometry", check_geometry(c)), make("codec", c.name, "flags", check_flags(c)),
          make("codec", c.name, "container_ids", check_container_ids(c))};
}

std::vector<Check> check_container_descriptor(const ContainerDescriptor& c, const NameOwners& others) {
  auto extensions = [&]() -> Outcome {
    if (!present(c.extensions) && c.folder != nullptr)
      return pass("none: writes model folders, chosen for an output path naming a folder");
    if (!present(c.extensions))
      return fail("no file extensions: quantflow cannot choose this container for an output path");
    std::string_view list = c.extensions;
    while (!list.empty()) {
      const std::string_view ext = list.substr(0, list.find(' '));
      if (!ext.empty() && ext[0] != '.')
        return fail(
            fmt::format("extension '{}' does not start with a dot (the list is space-separated: \".a .b\")", ext));
      list.remove_prefix(std::min(list.size(), ext.size() + 1));
    }
    return pass(c.extensions);
  };
  return {make("container", c.name, "name", check_name("container", c.name, others)),
          make("container", c.name, "description", check_description(c.description)),
          make("container", c.name, "extensions", extensions())};
}

}  // namespace quantflow::conformance

#include "pipeline/engine/writer_options.hpp"

#include <iterator>

#include <fmt/format.h>

namespace quantflow::pipeline {

namespace {

struct OptionType {
  uint32_t type;
  const char* name;
  const char* expected;  // for "must be ..." messages
  bool (*accepts)(const core::Registry& registry, std::string_view value);
};

constexpr OptionType kOptionTypes[] = {
    {QF_OPTION_BOOL, "bool", "1, 0, true or false",
     [](const core::Registry&, std::string_view v) { return v == "1" || v == "0" || v == "true" || v == "false"; }},
    {QF_OPTION_UNSIGNED, "unsigned", "a decimal number",
     [](const core::Registry&, std::string_view v) {
       return !v.empty() && v.find_first_not_of("0123456789") == std::string_view::npos;
     }},
    {QF_OPTION_STRING, "string", "text", [](const core::Registry&, std::string_view) { return true; }},
    {QF_OPTION_ENCODING, "encoding", "the name of a loaded encoding",
     [](const core::Registry& registry, std::string_view v) {
       return registry.find(canonical_dtype_name(std::string(v))) != nullptr;
     }},
};

const OptionType* find_type(uint32_t type) {
  for (const auto& t : kOptionTypes)
    if (t.type == type) return &t;
  return nullptr;
}

}  // namespace

const char* option_type_name(uint32_t type) {
  const OptionType* t = find_type(type);
  return t != nullptr ? t->name : "unknown";
}

Status check_writer_options(const core::Registry& registry, const ContainerDescriptor& container,
                            const WriterOptions& options) {
  for (const auto& [key, value] : options) {
    const QfWriterOption* declared = nullptr;
    std::string known;
    for (uint32_t i = 0; i < container.n_writer_options; ++i) {
      const QfWriterOption& option = container.writer_options[i];
      if (key == option.key) declared = &option;
      known += (known.empty() ? "" : ", ") + std::string(option.key);
    }
    if (declared == nullptr)
      return usage_error(fmt::format("the {} writer has no option '{}' ({})", container.name, key,
                                     known.empty() ? "it takes no options" : "its options: " + known));
    // An undeclared type checks nothing, as a string does: the plugin's writer still sees the value.
    const OptionType* type = find_type(declared->type);
    if (type != nullptr && !type->accepts(registry, value))
      return usage_error(fmt::format("the {} writer's option '{}' must be {}, not '{}' ({})", container.name, key,
                                     type->expected, value, declared->description));
  }
  return {};
}

}  // namespace quantflow::pipeline

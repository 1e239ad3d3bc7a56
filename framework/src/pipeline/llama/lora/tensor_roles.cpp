#include "pipeline/llama/lora/tensor_roles.hpp"

#include <string_view>

namespace quantflow::pipeline::lora {

namespace {

constexpr std::string_view kPeftPrefix = "base_model.model.";

struct RoleSuffix {
  std::string_view suffix;
  TensorRole::Kind kind;
};

constexpr RoleSuffix kRoleSuffixes[] = {
    {".lora_A.weight", TensorRole::Kind::lora_a},         {".lora_B.weight", TensorRole::Kind::lora_b},
    {".lora_embedding_A", TensorRole::Kind::embedding_a}, {".lora_embedding_B", TensorRole::Kind::embedding_b},
    {".base_layer.weight", TensorRole::Kind::base_layer},
};

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() > suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

TensorRole tensor_role(const std::string& adapter_name) {
  std::string_view name = adapter_name;
  if (name.substr(0, kPeftPrefix.size()) == kPeftPrefix) name.remove_prefix(kPeftPrefix.size());
  for (const RoleSuffix& role : kRoleSuffixes)
    if (ends_with(name, role.suffix))
      return {role.kind, std::string(name.substr(0, name.size() - role.suffix.size())) + ".weight"};
  return {TensorRole::Kind::full, std::string(name)};
}

const char* role_name(TensorRole::Kind kind) {
  switch (kind) {
    case TensorRole::Kind::lora_a:
      return "lora_A";
    case TensorRole::Kind::lora_b:
      return "lora_B";
    case TensorRole::Kind::embedding_a:
      return "lora_embedding_A";
    case TensorRole::Kind::embedding_b:
      return "lora_embedding_B";
    case TensorRole::Kind::base_layer:
      return "base_layer";
    case TensorRole::Kind::full:
      return "full tensor";
  }
  return "";
}

}  // namespace quantflow::pipeline::lora

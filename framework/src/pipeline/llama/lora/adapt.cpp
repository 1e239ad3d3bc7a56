#include "pipeline/llama/lora/adapt.hpp"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "pipeline/llama/hf_checkpoint/adapt.hpp"
#include "pipeline/llama/lora/lora_reader.hpp"

namespace quantflow::pipeline::lora {

namespace fs = std::filesystem;

namespace {

constexpr const char* kConfigFile = "adapter_config.json";
constexpr const char* kWeightsFile = "adapter_model.safetensors";
constexpr const char* kPickledWeightsFile = "adapter_model.bin";

bool is_file(const fs::path& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

// The base model's checkpoint from its folder or its config.json.
Result<hf::Checkpoint> load_base(const std::string& base) {
  std::error_code ec;
  fs::path folder = base;
  if (is_file(folder)) {
    if (folder.filename() != "config.json")
      return usage_error("--base takes the base model's folder or its config.json").with_file(base);
    folder = folder.parent_path();
  } else if (!fs::is_directory(folder, ec)) {
    return usage_error("--base: no such folder or file").with_file(base);
  }
  QF_ASSIGN_OR_RETURN(auto checkpoint, hf::load_checkpoint(folder.empty() ? "." : folder.string()));
  if (!checkpoint)
    return bad_input("the base model needs a config.json naming its 'architectures'; there is none").with_file(base);
  return std::move(*checkpoint);
}

Status check_type(const TypeRequest& type) {
  const std::string name = canonical_dtype_name(type.type);
  if (!type.is_grouped() && std::any_of(std::begin(kAdapterTypes), std::end(kAdapterTypes),
                                        [&](const char* allowed) { return name == allowed; }))
    return {};
  return usage_error(
      fmt::format("a LoRA adapter is written as f32, f16, bf16 or q8_0 (the --outtype choices of "
                  "llama.cpp's convert_lora_to_gguf.py), not '{}'",
                  type.type));
}

}  // namespace

bool is_adapter_folder(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec) && is_file(fs::path(path) / kConfigFile);
}

Status route_adapter(ConvertRequest& request, const std::string& base) {
  const std::string folder = request.input;
  if (!is_adapter_folder(folder)) {
    if (base.empty()) return {};
    return usage_error(fmt::format("--base is for a PEFT LoRA adapter folder (one holding {}); this input is not one",
                                   kConfigFile))
        .with_file(folder);
  }
  QF_ASSIGN_OR_RETURN(AdapterConfig config, read_adapter_config((fs::path(folder) / kConfigFile).string()));
  if (base.empty())
    return usage_error(fmt::format("a LoRA adapter needs its base model's config.json{}: pass --base with the base "
                                   "model's folder",
                                   config.base_model.empty()
                                       ? std::string()
                                       : fmt::format(", and base_model_name_or_path ('{}') names a hub model, "
                                                     "which quantflow does not download",
                                                     config.base_model)))
        .with_file(folder);
  QF_ASSIGN_OR_RETURN(hf::Checkpoint checkpoint, load_base(base));

  const fs::path weights = fs::path(folder) / kWeightsFile;
  if (!is_file(weights)) {
    if (is_file(fs::path(folder) / kPickledWeightsFile))
      return unsupported(fmt::format("{} is a PyTorch pickle, which quantflow does not read: save the adapter as {} "
                                     "(PEFT's safe_serialization, the default)",
                                     kPickledWeightsFile, kWeightsFile))
          .with_file(folder);
    return bad_input(fmt::format("a PEFT adapter folder needs its {}; there is none", kWeightsFile)).with_file(folder);
  }
  if (request.type.empty()) request.type = type_named(kDefaultAdapterType);
  QF_RETURN_IF_ERROR(check_type(request.type));

  request.input = weights.string();
  request.adapt_input = [folder, config, checkpoint = std::move(checkpoint)](
                            const core::Registry& /*registry*/, const std::string& /*input*/,
                            std::unique_ptr<Reader> reader,
                            const ContainerDescriptor& output) -> Result<std::unique_ptr<Reader>> {
    if (!hf::is_gguf(output))
      return usage_error(
                 fmt::format("a LoRA adapter converts to GGUF only (llama.cpp's LoRA format), not {}", output.name))
          .with_file(folder);
    QF_ASSIGN_OR_RETURN(auto adapted, LoraReader::open(folder, config, checkpoint, std::move(reader)));
    return std::unique_ptr<Reader>(std::move(adapted));
  };
  return {};
}

}  // namespace quantflow::pipeline::lora

// Where a PEFT LoRA adapter folder meets `convert`: `quantflow convert ADAPTER_DIR out.gguf
// --base BASE_DIR` writes the GGUF LoRA llama.cpp's convert_lora_to_gguf.py would. The
// adapter alone does not say how its base is laid out in GGUF (architecture, heads for the
// rotary reorder, widths), and base_model_name_or_path is a hub name, not a file: the base
// model's config.json is needed, and nothing is downloaded.
#pragma once

#include <string>

#include "pipeline/engine/convert.hpp"

namespace quantflow::pipeline::lora {

// Whether `path` is a folder holding adapter_config.json.
bool is_adapter_folder(const std::string& path);

// The --type values an adapter takes: convert_lora_to_gguf.py's --outtype choices, and the
// one used without --type (the converter's default).
inline constexpr const char* kAdapterTypes[] = {"f32", "f16", "bf16", "q8_0"};
inline constexpr const char* kDefaultAdapterType = "f32";

// When request.input is an adapter folder: reads and checks adapter_config.json and the base
// model's config.json (`base`: its folder, or that file), points the request at the folder's
// adapter_model.safetensors and sets the adapter that presents it as a GGUF LoRA, with the
// default type when none was asked. Any other input is left alone, but `base` set for it is a
// usage error.
Status route_adapter(ConvertRequest& request, const std::string& base);

}  // namespace quantflow::pipeline::lora

#include "reading/folder_reader.hpp"

#include <cstring>
#include <fstream>

#include "folder/folder_files.hpp"
#include "folder/json_depth.hpp"
#include "reading/fp8_blocks.hpp"
#include "reading/mxfp4_blocks.hpp"
#include "reading/zero_point_modules.hpp"
#include "safetensors/json_text.hpp"

namespace quantflow::model_folder {

namespace {

Status refuse_deep(const nlohmann::json& value, const std::string& file) {
  if (!nests_deeper_than(value, kMaxJsonDepth)) return {};
  return bad_input("the JSON nests deeper than " + std::to_string(kMaxJsonDepth) + " levels").with_file(file);
}

// mlx-lm writes the block under `quantization` and a copy under `quantization_config`; a
// `quantization_config` with a quant_method belongs to another tool (AWQ, GPTQ, ...).
const nlohmann::json* quantization_block(const nlohmann::json& config) {
  if (const auto it = config.find("quantization"); it != config.end()) return &*it;
  if (const auto it = config.find("quantization_config");
      it != config.end() && it->is_object() && !it->contains("quant_method"))
    return &*it;
  return nullptr;
}

// The weights' metadata and the model's config. The safetensors `format` tag describes the
// weights files only, and a config holding nothing but the quantization block (which the
// tensors themselves describe) says nothing: neither travels, so that a model taken through an
// MLX folder comes back with the metadata it had.
Metadata folder_metadata(const Reader& weights, const nlohmann::json& config) {
  Metadata metadata = weights.metadata();
  metadata.erase("format");
  nlohmann::json settings = config;
  settings.erase("quantization");
  settings.erase("quantization_config");
  if (!settings.empty()) metadata.set(kConfigKey, MetaValue::make_string(config.dump()));
  return metadata;
}

// What `quantization_config.quant_method` names ("" when there is none).
std::string quant_method(const nlohmann::json& config) {
  const auto it = config.find("quantization_config");
  if (it == config.end() || !it->is_object()) return {};
  const auto method = it->find("quant_method");
  return method != it->end() && method->is_string() ? method->get<std::string>() : std::string();
}

// AutoAWQ and GPTQ name themselves in quantization_config; old AutoGPTQ folders keep a
// quantize_config.json instead.
Result<std::optional<QuantizationConfig>> zero_point_config(const std::string& folder, const nlohmann::json& config) {
  if (const auto it = config.find("quantization_config"); it != config.end() && it->is_object()) {
    const auto method = it->find("quant_method");
    if (method == it->end()) return std::optional<QuantizationConfig>();
    auto parsed = parse_quantization_config(*it);
    if (!parsed.ok()) return parsed.take_status().with_file(folder + "/" + kConfigFile);
    return std::optional(*parsed);
  }
  const std::string legacy = folder + "/quantize_config.json";
  std::ifstream in(legacy, std::ios::binary);
  if (!in) return std::optional<QuantizationConfig>();
  QF_ASSIGN_OR_RETURN(auto block, parse_json_file(in, legacy));
  QF_RETURN_IF_ERROR(refuse_deep(block, legacy));
  auto parsed = parse_quantization_config(block, QuantMethod::gptq);
  if (!parsed.ok()) return parsed.take_status().with_file(legacy);
  return std::optional(*parsed);
}

}  // namespace

Result<std::unique_ptr<FolderReader>> FolderReader::open(const std::string& folder, const CodecCatalog& catalog) {
  QF_ASSIGN_OR_RETURN(auto config, load_config(folder));
  QF_RETURN_IF_ERROR(refuse_deep(config, folder + "/" + kConfigFile));
  std::unique_ptr<FolderReader> r(new FolderReader());
  QF_ASSIGN_OR_RETURN(r->weights_, open_weights(folder, catalog));
  // Which stored tensors fold into one depends on the tool that wrote the folder.
  Result<FoldedTensors> folded = [&]() -> Result<FoldedTensors> {
    if (quant_method(config) == "mxfp4") return fold_mxfp4_blocks(r->weights_->tensors(), catalog);
    if (quant_method(config) == "fp8") {
      auto block = fp8_block_size(config["quantization_config"]);
      if (!block.ok()) return block.take_status().with_file(folder + "/" + kConfigFile);
      return fold_fp8_blocks(r->weights_->tensors(), *block, catalog);
    }
    QF_ASSIGN_OR_RETURN(r->zero_point_, zero_point_config(folder, config));
    if (r->zero_point_) return fold_zero_point_modules(*r->weights_, *r->zero_point_, catalog);
    std::optional<MlxQuantization> quantization;
    if (const nlohmann::json* block = quantization_block(config)) {
      auto parsed = parse_quantization(*block);
      if (!parsed.ok()) return parsed.take_status().with_file(folder + "/" + kConfigFile);
      quantization = std::move(parsed).value();
    }
    return fold_mlx_modules(r->weights_->tensors(), quantization ? &*quantization : nullptr, catalog);
  }();
  if (!folded.ok()) return folded.take_status().with_file(folder);
  r->folded_ = std::move(folded).value();
  r->metadata_ = folder_metadata(*r->weights_, config);
  return r;
}

Result<TensorData> FolderReader::read(size_t index) const {
  if (index >= folded_.sources.size()) return internal_error("tensor index out of range");
  const TensorSource& source = folded_.sources[index];
  if (source.zero_point) {
    std::vector<TensorData> keep;
    QF_ASSIGN_OR_RETURN(auto parts, read_parts(*weights_, *source.zero_point, keep));
    auto out = std::make_shared<std::vector<std::byte>>(folded_.tensors[index].n_bytes);
    QF_RETURN_IF_ERROR(unpack(*zero_point_, parts, *out));
    const std::span<const std::byte> bytes(*out);
    return TensorData{.bytes = bytes, .owner = std::move(out)};
  }
  if (const auto& fp8 = source.fp8) {
    QF_ASSIGN_OR_RETURN(auto codes, weights_->read(source.weight));
    QF_ASSIGN_OR_RETURN(auto factors, weights_->read(fp8->scale_inv));
    const TensorInfo& logical = folded_.tensors[index];
    auto out = std::make_shared<std::vector<float>>(element_count(logical.shape));
    QF_RETURN_IF_ERROR(dequantize_fp8_blocks(*fp8, logical, codes.bytes, factors.bytes, *out));
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(out->data()),
                                           out->size() * sizeof(float));
    return TensorData{.bytes = bytes, .owner = std::move(out)};
  }
  if (!source.scales) return weights_->read(source.weight);
  QF_ASSIGN_OR_RETURN(auto weight, weights_->read(source.weight));
  QF_ASSIGN_OR_RETURN(auto scales, weights_->read(*source.scales));
  TensorData biases;
  if (source.biases) {
    QF_ASSIGN_OR_RETURN(biases, weights_->read(*source.biases));
  }
  auto blocks = std::make_shared<std::vector<std::byte>>(source.layout.blocks_bytes());
  interleave(source.layout, weight.bytes, scales.bytes, biases.bytes, *blocks);
  const std::span<const std::byte> bytes(*blocks);
  return TensorData{.bytes = bytes, .owner = std::move(blocks)};
}

void FolderReader::release(size_t index) const {
  if (index >= folded_.sources.size()) return;
  const TensorSource& source = folded_.sources[index];
  weights_->release(source.weight);
  if (const auto& parts = source.zero_point) {
    weights_->release(parts->scales);
    if (parts->qzeros) weights_->release(*parts->qzeros);
    if (parts->g_idx) weights_->release(*parts->g_idx);
  }
  if (source.fp8) weights_->release(source.fp8->scale_inv);
  if (source.scales) weights_->release(*source.scales);
  if (source.biases) weights_->release(*source.biases);
}

std::vector<Property> FolderReader::properties() const {
  std::vector<Property> out = weights_->properties();
  out.push_back({"weights_container", MetaValue::make_string(weights_->container())});
  out.push_back({"quantized_modules", MetaValue::make_u64(folded_.quantized_modules)});
  return out;
}

}  // namespace quantflow::model_folder

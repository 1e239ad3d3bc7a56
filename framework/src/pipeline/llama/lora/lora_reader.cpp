#include "pipeline/llama/lora/lora_reader.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <string_view>

#include <fmt/format.h>

#include "pipeline/llama/hf_checkpoint/model_keys.hpp"
#include "pipeline/llama/hf_checkpoint/storage_types.hpp"
#include "pipeline/llama/lora/base_shapes.hpp"
#include "pipeline/llama/lora/tensor_roles.hpp"

namespace quantflow::pipeline::lora {

namespace {

// Task types whose adapters carry a task head (modules_to_save) beside the pairs.
constexpr std::string_view kHeadTasks[] = {"SEQ_CLS", "TOKEN_CLS", "QUESTION_ANS"};

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool is_plain_float(const TensorInfo& t) {
  return t.shape.size() == 2 && t.dtype.kind == DTypeKind::floating && t.dtype.block_elems == 1 &&
         !t.dtype.whole_tensor;
}

std::string folder_title(const std::string& folder) {
  std::filesystem::path path = std::filesystem::absolute(folder).lexically_normal();
  if (path.filename().empty()) path = path.parent_path();
  return hf::title_from_folder_name(path.filename().string());
}

}  // namespace

Result<std::unique_ptr<LoraReader>> LoraReader::open(const std::string& folder, const AdapterConfig& config,
                                                     hf::Checkpoint base, std::shared_ptr<const Reader> weights) {
  std::unique_ptr<LoraReader> reader(new LoraReader());
  reader->base_ = std::move(base);
  reader->weights_ = std::move(weights);
  const std::string weights_path = (std::filesystem::path(folder) / "adapter_model.safetensors").string();
  if (Status s = reader->map_tensors(config); !s.ok()) return std::move(s).with_file(weights_path);
  if (reader->tensors_.empty()) return bad_input("no LoRA pairs (lora_A / lora_B tensors)").with_file(weights_path);

  // The keys and order of convert_lora_to_gguf.py: the architecture, set_type's two, the
  // model name, the adapter's alpha, the quantization version (no file type, no size label).
  Metadata& m = reader->metadata_;
  m.append("general.architecture", MetaValue::make_string(reader->base_.arch.architecture));
  m.append("general.type", MetaValue::make_string("adapter"));
  m.append("adapter.type", MetaValue::make_string("lora"));
  m.append("general.name", MetaValue::make_string(folder_title(folder)));
  m.append("adapter.lora.alpha", MetaValue::make_f32(gguf_alpha(config)));
  m.append("general.quantization_version", MetaValue::make_u32(2));  // GGML_QNT_VERSION
  return reader;
}

Status LoraReader::map_tensors(const AdapterConfig& config) {
  std::vector<std::string> order;  // base names in the order their first half appears
  std::map<std::string, Pair> pairs;
  const auto& source = weights_->tensors();
  for (size_t i = 0; i < source.size(); ++i) {
    const TensorRole role = tensor_role(source[i].name);
    switch (role.kind) {
      case TensorRole::Kind::base_layer:  // the base's own weight: the base model has it
        continue;
      case TensorRole::Kind::embedding_a:
      case TensorRole::Kind::embedding_b:
        return unsupported("a LoRA on an embedding (lora_embedding_A / lora_embedding_B) is not converted")
            .with_tensor(source[i].name);
      case TensorRole::Kind::full:
        QF_RETURN_IF_ERROR(add_full_tensor(i, role.base_name, config));
        continue;
      case TensorRole::Kind::lora_a:
      case TensorRole::Kind::lora_b: {
        auto [it, fresh] = pairs.try_emplace(role.base_name);
        if (fresh) order.push_back(role.base_name);
        (role.kind == TensorRole::Kind::lora_a ? it->second.a : it->second.b) = i;
        continue;
      }
    }
  }
  // The converter writes the full tensors it keeps as it meets them and the pairs after them.
  for (const std::string& base_name : order) QF_RETURN_IF_ERROR(add_pair(base_name, pairs[base_name], config));
  return {};
}

// convert_lora_to_gguf.py keeps the norms mergekit-extract-lora puts in adapters and refuses
// every other whole tensor.
Status LoraReader::add_full_tensor(size_t index, const std::string& base_name, const AdapterConfig& config) {
  const TensorInfo& info = weights_->tensors()[index];
  const MappedName mapped = map_hf_to_gguf(base_name, base_.arch);
  if (mapped.outcome == MappedName::Outcome::dropped) return {};
  if (mapped.outcome == MappedName::Outcome::renamed && ends_with(mapped.name, "_norm.weight") &&
      info.shape.size() == 1)
    return add_output(mapped.name, index, {});
  const std::string what = fmt::format("a full {} tensor, not a LoRA pair", shape_to_string(info.shape));
  if (mapped.outcome == MappedName::Outcome::renamed)
    return unsupported(fmt::format("{}: a GGUF LoRA can only add lora_b·lora_a to the base's {}, not replace it", what,
                                   mapped.name))
        .with_tensor(info.name);
  const bool head_task =
      std::find(std::begin(kHeadTasks), std::end(kHeadTasks), config.task_type) != std::end(kHeadTasks);
  return unsupported(fmt::format("{}, and '{}' has no GGUF name in llama.cpp's {} layout{}", what, base_name,
                                 base_.arch.architecture,
                                 head_task ? fmt::format(" (the task head of this {} adapter)", config.task_type)
                                           : std::string(" (modules_to_save keeps such tensors whole)")))
      .with_tensor(info.name);
}

Status LoraReader::add_pair(const std::string& base_name, const Pair& pair, const AdapterConfig& config) {
  const auto& source = weights_->tensors();
  if (!pair.a || !pair.b) {
    const bool has_a = pair.a.has_value();
    return bad_input(fmt::format("{} without its {}", has_a ? "lora_A" : "lora_B", has_a ? "lora_B" : "lora_A"))
        .with_tensor(source[has_a ? *pair.a : *pair.b].name);
  }
  const TensorInfo& a = source[*pair.a];
  const TensorInfo& b = source[*pair.b];
  const MappedName mapped = map_hf_to_gguf(base_name, base_.arch);
  if (mapped.outcome != MappedName::Outcome::renamed)
    return unsupported(fmt::format("the adapted weight '{}' has no GGUF name in llama.cpp's {} layout", base_name,
                                   base_.arch.architecture))
        .with_tensor(a.name);
  constexpr const char* kOutput = "output.weight";
  if (mapped.name == kOutput && ties_output_to_embeddings(base_))
    return unsupported(fmt::format("the base ties its output to the token embeddings (tie_word_embeddings), so its "
                                   "GGUF has no {} for this pair to adapt",
                                   kOutput))
        .with_tensor(a.name);
  for (const TensorInfo* half : {&a, &b})
    if (!is_plain_float(*half))
      return bad_input(fmt::format("a {} tensor of shape {}: a LoRA half must be a 2-D float matrix", half->dtype.name,
                                   shape_to_string(half->shape)))
          .with_tensor(half->name);
  const uint64_t rank = a.shape[0];
  if (b.shape[1] != rank)
    return bad_input(fmt::format("lora_A {} and lora_B {} disagree on the rank", shape_to_string(a.shape),
                                 shape_to_string(b.shape)))
        .with_tensor(a.name);
  if (!config.rank_pattern && rank != config.rank)
    return bad_input(
               fmt::format("rank {}, but adapter_config.json's r is {} and it has no rank_pattern", rank, config.rank))
        .with_tensor(a.name);
  const Shape delta = {b.shape[0], a.shape[1]};
  auto expected = base_matrix_shape(base_, mapped.name);
  if (!expected.ok()) return expected.take_status().with_tensor(a.name);
  if (*expected && **expected != delta)
    return bad_input(fmt::format(
                         "lora_B·lora_A is {}, but the base's {} is {} by {}: is --base the adapter's base "
                         "model{}?",
                         shape_to_string(delta), mapped.name, shape_to_string(**expected), base_.file("config.json"),
                         config.base_model.empty() ? std::string()
                                                   : fmt::format(" ('{}' by adapter_config.json)", config.base_model)))
        .with_tensor(a.name);

  // The base's rows are reordered, so lora_b's rows (the delta's rows) are too. A Conv1D
  // transpose applies to the base only (see the header).
  SourceTransform b_rows;
  if (mapped.transform.kind == SourceTransform::Kind::interleave_rotary_rows) {
    const uint64_t heads = mapped.transform.heads;
    if (heads == 0 || delta[0] % heads != 0 || (delta[0] / heads) % 2 != 0)
      return bad_input(fmt::format("cannot interleave the rotary rows of lora_B {} over {} heads (rows must split "
                                   "into heads of even size)",
                                   shape_to_string(b.shape), heads))
          .with_tensor(b.name);
    b_rows = mapped.transform;
  }
  if (std::find(written_.begin(), written_.end(), mapped.name) != written_.end())
    return bad_input(fmt::format("a second LoRA pair for {}", mapped.name)).with_tensor(a.name);
  written_.push_back(mapped.name);
  QF_RETURN_IF_ERROR(add_output(mapped.name + ".lora_a", *pair.a, {}));
  return add_output(mapped.name + ".lora_b", *pair.b, b_rows);
}

Status LoraReader::add_output(std::string name, size_t weights_index, SourceTransform transform) {
  TensorInfo info = weights_->tensors()[weights_index];
  info.name = std::move(name);
  tensors_.push_back(std::move(info));
  origins_.push_back({.weights_index = weights_index, .transform = transform});
  return {};
}

Result<TensorData> LoraReader::read(size_t index) const {
  const Origin& origin = origins_[index];
  QF_ASSIGN_OR_RETURN(TensorData data, weights_->read(origin.weights_index));
  if (origin.transform.kind != SourceTransform::Kind::interleave_rotary_rows) return data;
  auto rows = std::make_shared<std::vector<std::byte>>(
      interleave_rotary_rows(data.bytes, tensors_[index].shape.front(), origin.transform.heads));
  weights_->release(origin.weights_index);
  TensorData out;
  out.bytes = std::span<const std::byte>(rows->data(), rows->size());
  out.owner = std::move(rows);
  return out;
}

std::vector<std::string> LoraReader::default_fallback(const CodecDescriptor& /*requested*/) const {
  return {"f16"};  // the converter's fallback when a row is not whole blocks (lora_b's rows are r long)
}

// hf-to-gguf.md §3.4: the pairs take the requested type (rule 4 names .lora_a / .lora_b with
// .weight); the norms a merged adapter may carry stay f32 as in a model.
const CodecDescriptor* LoraReader::fixed_encoding(const TensorInfo& tensor, const CodecDescriptor& requested,
                                                  const CodecCatalog& catalog) const {
  if (ends_with(tensor.name, ".lora_a") || ends_with(tensor.name, ".lora_b")) return nullptr;
  const std::string name = hf::fixed_encoding_name(tensor, requested.name);
  return name.empty() ? nullptr : catalog.find(name);
}

// convert_lora_to_gguf.py writes no general.file_type: its set_gguf_parameters, where the
// model converter writes it, writes the alpha instead.
bool LoraReader::record_main_encoding(Metadata& /*metadata*/, const CodecDescriptor& /*requested*/) const {
  return true;
}

}  // namespace quantflow::pipeline::lora

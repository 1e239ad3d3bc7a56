// A PEFT LoRA adapter as llama.cpp's convert_lora_to_gguf.py writes it, presented as a Reader
// over adapter_model.safetensors: each pair's tensors named after the base's GGUF tensor
// (`blk.0.attn_q.weight.lora_a`, `.lora_b`), lora_b's rows reordered where the base's rows are
// (llama's rotary Q/K interleave), and the adapter keys (general.type = adapter, adapter.type =
// lora, adapter.lora.alpha) in place of the file's own metadata.
//
// Why nothing is transposed: PEFT stores lora_A as [r, in] and lora_B as [out, r] whatever the
// layer, and its forward pass adds B·A·x·alpha/r. GGUF stores every base matrix as [out, in]
// (GPT-2's Conv1D weights, stored [in, out], are transposed on the way) and llama.cpp adds
// lora_b·(lora_a·x)·alpha/rank. So lora_a = lora_A and lora_b = lora_B for Linear and Conv1D
// layers alike: fan_in_fan_out only says that PEFT's merge into a Conv1D weight transposes B·A
// ((B·A)ᵀ is the delta of the [in, out] weight), which the base's own transpose undoes.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "pipeline/engine/input_adapter.hpp"
#include "pipeline/llama/hf_checkpoint/checkpoint.hpp"
#include "pipeline/llama/lora/adapter_config.hpp"
#include "pipeline/recipe/recipe_source.hpp"

namespace quantflow::pipeline::lora {

class LoraReader final : public AdaptedInput {
 public:
  // `weights` reads the folder's adapter_model.safetensors; `base` is the base model's
  // checkpoint (its config.json: architecture, heads, widths). Fails naming the tensor on
  // anything but LoRA pairs of base matrices that have a GGUF name and the base's shape.
  static Result<std::unique_ptr<LoraReader>> open(const std::string& folder, const AdapterConfig& config,
                                                  hf::Checkpoint base, std::shared_ptr<const Reader> weights);

  std::string container() const override { return weights_->container(); }
  std::string version() const override { return weights_->version(); }
  const Metadata& metadata() const override { return metadata_; }
  const std::vector<TensorInfo>& tensors() const override { return tensors_; }
  Result<TensorData> read(size_t index) const override;
  void release(size_t index) const override { weights_->release(origins_[index].weights_index); }
  std::vector<Property> properties() const override { return weights_->properties(); }

  std::vector<std::string> default_fallback(const CodecDescriptor& requested) const override;
  const CodecDescriptor* fixed_encoding(const TensorInfo& tensor, const CodecDescriptor& requested,
                                        const CodecCatalog& catalog) const override;
  bool record_main_encoding(Metadata& metadata, const CodecDescriptor& requested) const override;

 private:
  struct Origin {
    size_t weights_index = 0;
    SourceTransform transform;  // none, or lora_b's rows interleaved
  };
  // The two halves of one pair, by index into the adapter's tensors.
  struct Pair {
    std::optional<size_t> a, b;
  };
  LoraReader() = default;
  Status map_tensors(const AdapterConfig& config);
  Status add_full_tensor(size_t index, const std::string& base_name, const AdapterConfig& config);
  Status add_pair(const std::string& base_name, const Pair& pair, const AdapterConfig& config);
  Status add_output(std::string name, size_t weights_index, SourceTransform transform);

  hf::Checkpoint base_;
  std::shared_ptr<const Reader> weights_;
  Metadata metadata_;
  std::vector<TensorInfo> tensors_;
  std::vector<Origin> origins_;
  std::vector<std::string> written_;  // GGUF names so far, to refuse two pairs for one matrix
};

}  // namespace quantflow::pipeline::lora

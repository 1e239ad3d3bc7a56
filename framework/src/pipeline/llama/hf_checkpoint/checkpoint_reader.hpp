// A Hugging Face checkpoint as llama.cpp's converter would write it to GGUF, presented as a
// Reader over the folder's own: llama.cpp's tensor names (rotary Q/K rows interleaved, GPT-2's
// Conv1D weights transposed, buffers dropped, llama3's rope_freqs generated first), the
// tensors the converter keeps in f32 widened to f32, and llama.cpp's metadata in place of the
// folder's. Tensors are rewritten one at a time as they are read: nothing holds the model.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "pipeline/engine/input_adapter.hpp"
#include "pipeline/llama/hf_checkpoint/checkpoint.hpp"
#include "pipeline/llama/hf_checkpoint/expert_stacks.hpp"

namespace quantflow::pipeline::hf {

class CheckpointReader final : public AdaptedInput {
 public:
  // Fails, naming the folder and tensor, on a tensor without a GGUF name or a layout the
  // rewrite cannot apply to; and on metadata config.json or the tokenizer cannot give.
  static Result<std::unique_ptr<CheckpointReader>> open(Checkpoint checkpoint, std::shared_ptr<const Reader> weights,
                                                        const CodecCatalog& catalog, const ContainerDescriptor& output);

  std::string container() const override { return weights_->container(); }
  std::string version() const override { return weights_->version(); }
  const Metadata& metadata() const override { return metadata_; }
  const std::vector<TensorInfo>& tensors() const override { return tensors_; }
  Result<TensorData> read(size_t index) const override;
  void release(size_t index) const override;
  std::vector<Property> properties() const override { return weights_->properties(); }

  std::vector<std::string> default_fallback(const CodecDescriptor& requested) const override;
  const CodecDescriptor* fixed_encoding(const TensorInfo& tensor, const CodecDescriptor& requested,
                                        const CodecCatalog& catalog) const override;
  bool record_main_encoding(Metadata& metadata, const CodecDescriptor& requested) const override;

 private:
  // Where an output tensor comes from: a checkpoint tensor, rewritten on the way, the
  // checkpoint's experts stacked in expert order, or the generated rope factors.
  struct Origin {
    std::optional<size_t> weights_index;  // nullopt: rope_factors_, or a stack of `experts`
    std::vector<size_t> experts = {};     // the stored tensor of each expert, expert 0 first
    SourceTransform transform;
    const CodecDescriptor* widen_from = nullptr;  // set: decoded to f32 after the rewrite
  };
  CheckpointReader() = default;
  Status map_tensors(const CodecCatalog& catalog);
  // Records expert tensor `weights_index` in its stack, adding the stack at its first expert.
  Status add_expert(size_t weights_index, const MoeName& moe);
  // Every stack has all num_local_experts experts, of one 2-D shape and encoding.
  Status finish_stacks();
  Result<TensorData> read_stack(size_t index) const;

  Checkpoint checkpoint_;
  std::shared_ptr<const Reader> weights_;
  const ContainerDescriptor* output_ = nullptr;
  Metadata metadata_;
  std::vector<TensorInfo> tensors_;
  std::vector<Origin> origins_;
  std::vector<float> rope_factors_;
  struct Stack {
    size_t index;  // in tensors_
    MoeName moe;   // of its first expert seen
  };
  std::map<std::string, Stack> stacks_;  // by stacked GGUF name
  uint64_t expert_count_ = 0;            // num_local_experts; 0 when config.json has none
};

}  // namespace quantflow::pipeline::hf

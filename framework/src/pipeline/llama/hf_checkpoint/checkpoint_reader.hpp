// A Hugging Face checkpoint as llama.cpp's converter would write it to GGUF, presented as a
// Reader over the folder's own: llama.cpp's tensor names (rotary Q/K rows interleaved, GPT-2's
// Conv1D weights transposed, buffers dropped, llama3's rope_freqs generated first), the
// tensors the converter keeps in f32 widened to f32, and llama.cpp's metadata in place of the
// folder's. Tensors are rewritten one at a time as they are read: nothing holds the model.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "pipeline/engine/input_adapter.hpp"
#include "pipeline/llama/hf_checkpoint/checkpoint.hpp"

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
  // Where an output tensor comes from: a checkpoint tensor, rewritten on the way, or the
  // generated rope factors.
  struct Origin {
    std::optional<size_t> weights_index;  // nullopt: rope_factors_
    SourceTransform transform;
    const CodecDescriptor* widen_from = nullptr;  // set: decoded to f32 after the rewrite
  };
  CheckpointReader() = default;
  Status map_tensors(const CodecCatalog& catalog);

  Checkpoint checkpoint_;
  std::shared_ptr<const Reader> weights_;
  const ContainerDescriptor* output_ = nullptr;
  Metadata metadata_;
  std::vector<TensorInfo> tensors_;
  std::vector<Origin> origins_;
  std::vector<float> rope_factors_;
};

}  // namespace quantflow::pipeline::hf

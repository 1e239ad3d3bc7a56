// CheckpointReader's expert stacks (expert_stacks.hpp): one 3-D tensor per layer and matrix,
// read by concatenating the experts' stored bytes in expert order.
#include <cstring>
#include <limits>

#include <fmt/format.h>

#include "pipeline/llama/hf_checkpoint/checkpoint_reader.hpp"

namespace quantflow::pipeline::hf {

namespace {

constexpr size_t kMissing = std::numeric_limits<size_t>::max();

std::string described(const TensorInfo& t) { return fmt::format("{} {}", t.dtype.name, shape_to_string(t.shape)); }

}  // namespace

Status CheckpointReader::add_expert(size_t weights_index, const MoeName& moe) {
  const std::string& name = weights_->tensors()[weights_index].name;
  if (expert_count_ == 0)
    return bad_input(fmt::format("config.json has no num_local_experts: the experts of '{}' cannot be stacked",
                                 moe.gguf_name))
        .with_tensor(name);
  if (*moe.expert >= expert_count_)
    return bad_input(
               fmt::format("expert {} of '{}', but num_local_experts is {}", *moe.expert, moe.gguf_name, expert_count_))
        .with_tensor(name);
  auto [it, fresh] = stacks_.try_emplace(moe.gguf_name, Stack{.index = tensors_.size(), .moe = moe});
  if (fresh) {
    TensorInfo stacked;  // dtype, shape and size once every expert is known (finish_stacks)
    stacked.name = moe.gguf_name;
    tensors_.push_back(std::move(stacked));
    Origin origin;
    origin.experts.assign(expert_count_, kMissing);
    origins_.push_back(std::move(origin));
  }
  size_t& slot = origins_[it->second.index].experts[*moe.expert];
  if (slot != kMissing) return bad_input(fmt::format("expert {} is stored twice", *moe.expert)).with_tensor(name);
  slot = weights_index;
  return {};
}

Status CheckpointReader::finish_stacks() {
  for (const auto& [gguf_name, stack] : stacks_) {
    const std::vector<size_t>& experts = origins_[stack.index].experts;
    for (uint64_t e = 0; e < experts.size(); ++e)
      if (experts[e] == kMissing)
        return bad_input(fmt::format("missing: '{}' stacks {} experts (num_local_experts)", gguf_name, experts.size()))
            .with_tensor(expert_hf_name(stack.moe, e));
    const TensorInfo& first = weights_->tensors()[experts.front()];
    for (size_t weights_index : experts) {
      const TensorInfo& expert = weights_->tensors()[weights_index];
      if (expert.shape.size() != 2 || expert.dtype.whole_tensor)
        return bad_input(
                   fmt::format("{} cannot be stacked into '{}' (2-D matrices only)", described(expert), gguf_name))
            .with_tensor(expert.name);
      if (expert.shape != first.shape || expert.dtype.name != first.dtype.name)
        return bad_input(fmt::format("{} differs from expert 0's {}: the experts of '{}' must match", described(expert),
                                     described(first), gguf_name))
            .with_tensor(expert.name);
    }
    TensorInfo& stacked = tensors_[stack.index];
    stacked.dtype = first.dtype;
    stacked.shape = {experts.size(), first.shape[0], first.shape[1]};
    stacked.n_bytes = experts.size() * first.n_bytes;
  }
  return {};
}

Result<TensorData> CheckpointReader::read_stack(size_t index) const {
  const TensorInfo& info = tensors_[index];
  auto bytes = std::make_shared<std::vector<std::byte>>(info.n_bytes);
  size_t offset = 0;
  for (size_t weights_index : origins_[index].experts) {
    QF_ASSIGN_OR_RETURN(TensorData expert, weights_->read(weights_index));
    const TensorInfo& stored = weights_->tensors()[weights_index];
    if (expert.bytes.size() != stored.n_bytes || offset + expert.bytes.size() > bytes->size())
      return bad_input(fmt::format("read {} bytes, not {}", expert.bytes.size(), stored.n_bytes))
          .with_tensor(stored.name);
    std::memcpy(bytes->data() + offset, expert.bytes.data(), expert.bytes.size());
    offset += expert.bytes.size();
    weights_->release(weights_index);
  }
  TensorData out;
  out.bytes = std::span<const std::byte>(bytes->data(), bytes->size());
  out.owner = std::move(bytes);
  return out;
}

}  // namespace quantflow::pipeline::hf

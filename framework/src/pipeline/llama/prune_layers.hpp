// llama-quantize's --prune-layers: whole blocks (every "blk.N." tensor of the listed N) leave
// the model and the blocks after the first pruned one are renumbered in order, so that the
// result is a model with fewer layers.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "quantflow/status.hpp"

namespace quantflow::pipeline {

// "3,1,1" -> {1, 3}: comma-separated non-negative layer numbers, sorted, duplicates dropped.
Result<std::vector<int>> parse_prune_layers(const std::string& text);

// Renames tensors as llama-quantize does. Blocks must be visited in ascending order (llama's
// tensor order); a block keeps its number below the first pruned one and takes the next free
// number after it.
class LayerPruner {
 public:
  explicit LayerPruner(std::vector<int> pruned) : pruned_(std::move(pruned)) {}

  bool active() const { return !pruned_.empty(); }
  // The tensor's new name, or nullopt when its block is pruned. Names outside blocks stay.
  std::optional<std::string> rename(const std::string& name);
  // The blocks left once every tensor has been renamed: the new block_count.
  int block_count() const { return next_; }

 private:
  std::vector<int> pruned_;
  std::map<int, std::optional<int>> mapped_;  // old block -> new block, nullopt: pruned
  int next_ = 0;
};

}  // namespace quantflow::pipeline

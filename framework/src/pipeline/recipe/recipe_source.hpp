// The inputs of a recipe seen as one Reader: the tensors of every input file in order,
// each optionally transformed on the way out (row reorder, transpose) as name maps need.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/registry.hpp"
#include "pipeline/recipe/recipe.hpp"

namespace quantflow::pipeline {

// A byte-level rewrite of one source tensor, applied as its data is read, before decoding.
struct SourceTransform {
  enum class Kind { none, interleave_rotary_rows, transpose };
  Kind kind = Kind::none;
  uint64_t heads = 0;  // interleave_rotary_rows: heads sharing the rows
};

class RecipeSource final : public Reader {
 public:
  // Opens every input; fails on name collisions between inputs, naming both inputs.
  static Result<std::unique_ptr<RecipeSource>> open(const core::Registry& registry, const Recipe& recipe);

  std::string container() const override { return inputs_.front()->container(); }
  std::string version() const override { return inputs_.front()->version(); }
  // The first input's metadata; other inputs contribute through `metadata.copy`.
  const Metadata& metadata() const override { return inputs_.front()->metadata(); }
  const std::vector<TensorInfo>& tensors() const override { return tensors_; }
  Result<TensorData> read(size_t index) const override;
  void release(size_t index) const override;

  size_t input_count() const { return inputs_.size(); }
  const Reader& input(size_t i) const { return *inputs_[i]; }
  const std::vector<std::string>& input_paths() const { return paths_; }

  // Checks the transform applies to the tensor and adjusts its presented shape.
  Status set_transform(size_t index, const SourceTransform& transform);

 private:
  struct Origin {
    size_t input = 0;
    size_t tensor = 0;
    SourceTransform transform;
  };
  std::vector<std::unique_ptr<Reader>> inputs_;
  std::vector<std::string> paths_;
  std::vector<TensorInfo> tensors_;
  std::vector<Origin> origins_;
};

// Output row h*d + 2*i + j takes input row h*d + j*(d/2) + i (d = rows / heads): HF's
// half-split rotary pairs become llama.cpp's interleaved pairs.
std::vector<std::byte> interleave_rotary_rows(std::span<const std::byte> bytes, uint64_t rows, uint64_t heads);

}  // namespace quantflow::pipeline

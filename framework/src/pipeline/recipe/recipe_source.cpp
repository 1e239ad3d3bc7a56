#include "pipeline/recipe/recipe_source.hpp"

#include <cstring>
#include <map>

#include <fmt/format.h>

namespace quantflow::pipeline {

std::vector<std::byte> interleave_rotary_rows(std::span<const std::byte> bytes, uint64_t rows, uint64_t heads) {
  std::vector<std::byte> out(bytes.size());
  const uint64_t row_bytes = bytes.size() / rows;
  const uint64_t head_dim = rows / heads, half = head_dim / 2;
  for (uint64_t h = 0; h < heads; ++h)
    for (uint64_t i = 0; i < half; ++i)
      for (uint64_t j = 0; j < 2; ++j) {
        const uint64_t to = h * head_dim + 2 * i + j, from = h * head_dim + j * half + i;
        std::memcpy(out.data() + to * row_bytes, bytes.data() + from * row_bytes, row_bytes);
      }
  return out;
}

namespace {

std::vector<std::byte> transpose_matrix(std::span<const std::byte> bytes, uint64_t rows, uint64_t cols,
                                        uint64_t element_bytes) {
  std::vector<std::byte> out(bytes.size());
  for (uint64_t r = 0; r < rows; ++r)
    for (uint64_t c = 0; c < cols; ++c)
      std::memcpy(out.data() + (c * rows + r) * element_bytes, bytes.data() + (r * cols + c) * element_bytes,
                  element_bytes);
  return out;
}

}  // namespace

Result<std::unique_ptr<RecipeSource>> RecipeSource::open(const core::Registry& registry, const Recipe& recipe) {
  std::unique_ptr<RecipeSource> source(new RecipeSource());
  std::map<std::string, size_t> owner;  // tensor name -> input index
  for (size_t i = 0; i < recipe.inputs.size(); ++i) {
    const auto& input = recipe.inputs[i];
    auto reader = registry.open_reader(input.value);
    if (!reader.ok()) return recipe_error(input.mark, reader.status().to_string());
    const auto& tensors = (*reader)->tensors();
    for (size_t t = 0; t < tensors.size(); ++t) {
      const auto [it, fresh] = owner.emplace(tensors[t].name, i);
      if (!fresh)
        return recipe_error(input.mark,
                            fmt::format("tensor '{}' of {} is also in {} (inputs {} and {}); merged inputs "
                                        "must not share tensor names",
                                        tensors[t].name, input.value, recipe.inputs[it->second].value, it->second, i));
      source->tensors_.push_back(tensors[t]);
      source->origins_.push_back({i, t, {}});
    }
    source->inputs_.push_back(std::move(reader).value());
    source->paths_.push_back(input.value);
  }
  return source;
}

Status RecipeSource::set_transform(size_t index, const SourceTransform& transform) {
  TensorInfo& info = tensors_[index];
  const Shape& shape = info.shape;
  switch (transform.kind) {
    case SourceTransform::Kind::none:
      break;
    case SourceTransform::Kind::interleave_rotary_rows: {
      const uint64_t rows = shape.empty() ? 0 : shape.front();
      const bool row_aligned = shape.size() == 1 ? info.dtype.block_elems == 1 : true;
      // Rows of a whole-tensor encoding are not byte ranges of their own (blocks cross them).
      if (transform.heads == 0 || rows % transform.heads != 0 || (rows / transform.heads) % 2 != 0 || !row_aligned ||
          shape.size() > 2 || info.dtype.whole_tensor)
        return bad_input(fmt::format("cannot interleave the rotary rows of shape {} over {} heads "
                                     "(rows must split into heads of even size)",
                                     shape_to_string(shape), transform.heads))
            .with_tensor(info.name);
      break;
    }
    case SourceTransform::Kind::transpose:
      if (shape.size() != 2 || info.dtype.block_elems != 1 || info.dtype.whole_tensor)
        return bad_input(fmt::format("cannot transpose a {} tensor of shape {} (2-D plain encodings only)",
                                     info.dtype.name, shape_to_string(shape)))
            .with_tensor(info.name);
      info.shape = {shape[1], shape[0]};
      break;
  }
  origins_[index].transform = transform;
  return {};
}

Result<TensorData> RecipeSource::read(size_t index) const {
  const Origin& origin = origins_[index];
  QF_ASSIGN_OR_RETURN(TensorData data, inputs_[origin.input]->read(origin.tensor));
  const TensorInfo& info = tensors_[index];
  std::vector<std::byte> rewritten;
  switch (origin.transform.kind) {
    case SourceTransform::Kind::none:
      return data;
    case SourceTransform::Kind::interleave_rotary_rows:
      rewritten = interleave_rotary_rows(data.bytes, info.shape.front(), origin.transform.heads);
      break;
    case SourceTransform::Kind::transpose:
      // The presented shape is already transposed: the stored matrix is [cols, rows].
      rewritten = transpose_matrix(data.bytes, info.shape[1], info.shape[0], info.dtype.block_bytes);
      break;
  }
  auto owned = std::make_shared<std::vector<std::byte>>(std::move(rewritten));
  TensorData out;
  out.bytes = std::span<const std::byte>(owned->data(), owned->size());
  out.owner = owned;
  inputs_[origin.input]->release(origin.tensor);
  return out;
}

void RecipeSource::release(size_t index) const {
  const Origin& origin = origins_[index];
  inputs_[origin.input]->release(origin.tensor);
}

}  // namespace quantflow::pipeline

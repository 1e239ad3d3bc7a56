// Writes an importance matrix in llama.cpp's legacy .dat layout, so that tests can run the
// imatrix code paths of quantflow and llama-quantize on synthetic models.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "support/test_support.hpp"

namespace qf_test {

// One entry per 2-D tensor of `model` (weights w[i] = 0.5 + ((i * 37) % 100) / 50, as in
// the golden vectors), for 1 chunk, with no dataset name.
inline void write_imatrix_for(const fs::path& model, const fs::path& out) {
  auto reader = plugins().open_reader(model.string());
  BOOST_REQUIRE_MESSAGE(reader.ok(), reader.status().to_string());
  std::vector<uint8_t> dat;
  auto put = [&](const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    dat.insert(dat.end(), b, b + n);
  };
  auto put_i32 = [&](int32_t v) { put(&v, 4); };
  std::vector<const quantflow::TensorInfo*> matrices;
  for (const auto& t : (*reader)->tensors())
    if (t.shape.size() == 2) matrices.push_back(&t);
  put_i32(static_cast<int32_t>(matrices.size()));
  for (const auto* t : matrices) {
    put_i32(static_cast<int32_t>(t->name.size()));
    put(t->name.data(), t->name.size());
    put_i32(1);  // calls
    const auto cols = static_cast<int32_t>(t->shape.back());
    put_i32(cols);
    for (int32_t i = 0; i < cols; ++i) {
      const float w = 0.5f + static_cast<float>((i * 37) % 100) / 50.0f;
      put(&w, 4);
    }
  }
  put_i32(1);  // chunks
  put_i32(0);  // dataset name length
  write_bytes(out, dat.data(), dat.size());
}

}  // namespace qf_test

// A llama-shaped model whose F32 weights are generated on demand, tensor by tensor, so a
// model of any size can be written with bounded memory (quick start, tests, benchmarks).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "quantflow/container.hpp"

namespace quantflow::core {

struct SyntheticModelShape {
  uint64_t vocab = 512;
  uint64_t hidden = 256;
  uint64_t ffn = 768;
  uint64_t layers = 4;
  uint64_t heads = 4;
  uint64_t kv_heads = 2;
  uint64_t seed = 1;
  std::string name = "quantflow-synthetic";
};

std::unique_ptr<Reader> make_synthetic_model(const SyntheticModelShape& shape);

}  // namespace quantflow::core

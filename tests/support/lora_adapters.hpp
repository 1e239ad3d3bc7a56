// PEFT LoRA adapters for the GGUF LoRA tests (docs/hf.md, "LoRA adapters"): adapter folders
// built by hand (adapter_config.json as PEFT writes it, adapter_model.safetensors with
// `base_model.model.<module>.lora_A.weight` / `.lora_B.weight` pairs), base configs, and the
// small dense algebra the tests merge adapters with on their own.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/model_folders.hpp"

namespace qf_lora {

namespace fs = std::filesystem;
using qf_folder::Part;

// A row-major float matrix.
struct Matrix {
  uint64_t rows = 0, cols = 0;
  std::vector<float> values;
  float at(uint64_t r, uint64_t c) const { return values[r * cols + c]; }
};

inline Matrix matrix(uint64_t rows, uint64_t cols, std::vector<float> values) {
  BOOST_REQUIRE_EQUAL(values.size(), rows * cols);
  return {rows, cols, std::move(values)};
}

inline Matrix transposed(const Matrix& m) {
  Matrix out{m.cols, m.rows, std::vector<float>(m.values.size())};
  for (uint64_t r = 0; r < m.rows; ++r)
    for (uint64_t c = 0; c < m.cols; ++c) out.values[c * m.rows + r] = m.at(r, c);
  return out;
}

// a·b, accumulated in double.
inline Matrix product(const Matrix& a, const Matrix& b) {
  BOOST_REQUIRE_EQUAL(a.cols, b.rows);
  Matrix out{a.rows, b.cols, std::vector<float>(a.rows * b.cols)};
  for (uint64_t r = 0; r < a.rows; ++r)
    for (uint64_t c = 0; c < b.cols; ++c) {
      double sum = 0;
      for (uint64_t k = 0; k < a.cols; ++k) sum += static_cast<double>(a.at(r, k)) * b.at(k, c);
      out.values[r * b.cols + c] = static_cast<float>(sum);
    }
  return out;
}

// a + b·scale
inline Matrix plus_scaled(const Matrix& a, const Matrix& b, double scale) {
  BOOST_REQUIRE(a.rows == b.rows && a.cols == b.cols);
  Matrix out = a;
  for (size_t i = 0; i < out.values.size(); ++i) out.values[i] = static_cast<float>(a.values[i] + b.values[i] * scale);
  return out;
}

inline double max_difference(const Matrix& a, const Matrix& b) {
  BOOST_REQUIRE(a.rows == b.rows && a.cols == b.cols);
  double worst = 0;
  for (size_t i = 0; i < a.values.size(); ++i)
    worst = std::max(worst, std::abs(static_cast<double>(a.values[i]) - b.values[i]));
  return worst;
}

inline Matrix random_matrix(uint64_t rows, uint64_t cols, std::mt19937& rng) {
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  Matrix out{rows, cols, std::vector<float>(rows * cols)};
  for (float& v : out.values) v = value(rng);
  return out;
}

// The stored f32 values of a tensor as a matrix of its shape.
inline Matrix f32_matrix(const std::vector<uint64_t>& shape, const std::vector<uint8_t>& bytes) {
  BOOST_REQUIRE_EQUAL(shape.size(), 2u);
  return matrix(shape[0], shape[1], qf_folder::as_floats(bytes));
}

// hf-to-gguf.md §2: output row h*d + 2*i + j takes input row h*d + j*(d/2) + i.
inline Matrix rotary_interleaved(const Matrix& m, uint64_t heads) {
  const uint64_t d = m.rows / heads, half = d / 2;
  Matrix out = m;
  for (uint64_t h = 0; h < heads; ++h)
    for (uint64_t i = 0; i < half; ++i)
      for (uint64_t j = 0; j < 2; ++j)
        for (uint64_t c = 0; c < m.cols; ++c)
          out.values[(h * d + 2 * i + j) * m.cols + c] = m.at(h * d + j * half + i, c);
  return out;
}

inline Part f32_part(const std::string& name, const Matrix& m) {
  std::vector<uint8_t> data;
  for (float v : m.values) qf_folder::put_le(data, std::bit_cast<uint32_t>(v));
  return {name, "F32", {m.rows, m.cols}, data};
}

// adapter_config.json as PEFT 0.17 writes it for a plain LoRA.
inline nlohmann::json lora_config(uint64_t rank, double alpha, const std::vector<std::string>& targets,
                                  bool fan_in_fan_out, const std::string& base = "test-base") {
  return {{"alpha_pattern", nlohmann::json::object()},
          {"base_model_name_or_path", base},
          {"bias", "none"},
          {"fan_in_fan_out", fan_in_fan_out},
          {"inference_mode", true},
          {"init_lora_weights", true},
          {"layer_replication", nullptr},
          {"lora_alpha", alpha},
          {"lora_bias", false},
          {"lora_dropout", 0.05},
          {"modules_to_save", nullptr},
          {"peft_type", "LORA"},
          {"r", rank},
          {"rank_pattern", nlohmann::json::object()},
          {"target_modules", targets},
          {"task_type", "CAUSAL_LM"},
          {"use_dora", false},
          {"use_rslora", false}};
}

inline fs::path write_adapter(const fs::path& dir, const nlohmann::json& config, const std::vector<Part>& parts) {
  fs::create_directories(dir);
  qf_test::write_text(dir / "adapter_config.json", config.dump(2));
  qf_folder::write_file(dir / "adapter_model.safetensors", qf_folder::safetensors_bytes(parts));
  return dir;
}

// GPT-2 small's config.json (n_embd 768, 12 layers, 12 heads): the base of the adapters in
// ../shared/testdata/models/, whose shapes the tiny-gpt2 test checkpoint (n_embd 2) does not fit.
inline fs::path write_gpt2_base(const fs::path& dir) {
  fs::create_directories(dir);
  const nlohmann::json config = {{"architectures", {"GPT2LMHeadModel"}},
                                 {"model_type", "gpt2"},
                                 {"n_embd", 768},
                                 {"n_layer", 12},
                                 {"n_head", 12},
                                 {"n_inner", nullptr},
                                 {"n_ctx", 1024},
                                 {"n_positions", 1024},
                                 {"layer_norm_epsilon", 1e-5},
                                 {"vocab_size", 50257}};
  qf_test::write_text(dir / "config.json", config.dump(2));
  return dir;
}

}  // namespace qf_lora

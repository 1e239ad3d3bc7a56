// Tensor compression (§7, project rule): with ZSTD_COMPRESSED set, each tensor's data region
// is one zstd frame of its raw bytes. Decoding is bounded by the tensor's raw size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "quantflow/status.hpp"
#include "quantflow/tensor.hpp"

namespace quantflow::apr {

// The `compress_tensors` writer option: "none", "zstd" (level 3) or "zstd:LEVEL".
struct CompressionChoice {
  bool zstd = false;
  int level = 3;
};
Result<CompressionChoice> parse_compression(std::string_view option);

// Decodes one frame into exactly `raw_size` bytes, in fresh pages. Errors say what is wrong
// with the frame (the caller adds the tensor).
Result<TensorData> decode_frame(std::span<const std::byte> frame, uint64_t raw_size);

// One frame (with content size and checksum) holding `raw`.
class FrameEncoder {
 public:
  explicit FrameEncoder(int level);
  ~FrameEncoder();
  FrameEncoder(const FrameEncoder&) = delete;
  FrameEncoder& operator=(const FrameEncoder&) = delete;
  // The frame; valid until the next call.
  Result<std::span<const std::byte>> encode(std::span<const std::byte> raw);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace quantflow::apr

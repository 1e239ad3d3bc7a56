// An OutputSink that counts bytes instead of storing them: running a writer against it
// measures the file it would write (estimates) or asks whether it accepts a tensor list.
#pragma once

#include <string>
#include <utility>

#include "quantflow/container.hpp"

namespace quantflow::core {

class CountingSink final : public OutputSink {
 public:
  explicit CountingSink(std::string path) : path_(std::move(path)) {}
  Status write(std::span<const std::byte> bytes) override {
    position_ += bytes.size();
    return {};
  }
  uint64_t position() const override { return position_; }
  const std::string& target_path() const override { return path_; }

 private:
  std::string path_;
  uint64_t position_ = 0;
};

}  // namespace quantflow::core

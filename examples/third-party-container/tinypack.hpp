// tinypack: the file layout (see README.md) and the two halves of the container plugin.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "quantflow/container.hpp"

namespace tinypack {

inline constexpr char kMagic[4] = {'T', 'P', 'A', 'K'};
inline constexpr uint32_t kVersion = 1;
inline constexpr uint64_t kAlignment = 32;  // of the data start and of every tensor's data
inline constexpr size_t kFixedHeaderBytes = 16;

inline uint64_t align_up(uint64_t n) { return (n + kAlignment - 1) / kAlignment * kAlignment; }

quantflow::Result<std::unique_ptr<quantflow::Reader>> open_reader(const std::string& path,
                                                                  const quantflow::CodecCatalog& catalog);

quantflow::Result<std::unique_ptr<quantflow::Writer>> create_writer(quantflow::OutputSink& sink,
                                                                    const quantflow::CodecCatalog& catalog);

}  // namespace tinypack

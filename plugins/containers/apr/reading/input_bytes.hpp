// Reading parts of an input file: views into its head where possible, checked copies
// otherwise, and the CRC32 of a range streamed in bounded chunks.
#pragma once

#include <cstdint>

#include "quantflow/input_file.hpp"
#include "quantflow/status.hpp"

namespace quantflow::apr {

// [offset, offset + length): a view into head() when it lies there, else a copy.
Result<TensorData> bytes_at(const InputFile& file, uint64_t offset, uint64_t length);

// The u32 stored little-endian at `offset`.
Result<uint32_t> u32_at(const InputFile& file, uint64_t offset);

// CRC32 of [0, end), 16 MiB at a time; pages of a plain (mapped) file are released as it goes.
Result<uint32_t> crc_of_prefix(const InputFile& file, uint64_t end);

}  // namespace quantflow::apr

// The values an integer metadata type holds, for containers that read metadata from text (JSON)
// and must refuse a number its declared type cannot store.
#pragma once

#include <cstdint>

#include "quantflow/metadata.hpp"

namespace quantflow::container_kit {

struct IntegerRange {
  int64_t min;
  uint64_t max;

  bool holds(int64_t value) const { return value >= min && (value < 0 || static_cast<uint64_t>(value) <= max); }
};

// u64 (and any non-integer type) spans 0..2^64-1.
IntegerRange integer_range(MetaType type);

}  // namespace quantflow::container_kit

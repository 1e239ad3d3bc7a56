#include "container_kit/integer_range.hpp"

#include <limits>

namespace quantflow::container_kit {

IntegerRange integer_range(MetaType type) {
  switch (type) {
    case MetaType::u8:
      return {0, 0xFF};
    case MetaType::i8:
      return {-128, 127};
    case MetaType::u16:
      return {0, 0xFFFF};
    case MetaType::i16:
      return {-32768, 32767};
    case MetaType::u32:
      return {0, 0xFFFFFFFFu};
    case MetaType::i32:
      return {std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()};
    case MetaType::i64:
      return {std::numeric_limits<int64_t>::min(), static_cast<uint64_t>(std::numeric_limits<int64_t>::max())};
    default:
      return {0, std::numeric_limits<uint64_t>::max()};
  }
}

}  // namespace quantflow::container_kit

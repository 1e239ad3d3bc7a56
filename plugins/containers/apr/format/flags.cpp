#include "format/format.hpp"

namespace quantflow::apr {

namespace {

struct FlagName {
  uint16_t bit;
  const char* name;
};

constexpr FlagName kFlagNames[] = {
    {kLz4Compressed, "LZ4_COMPRESSED"},
    {kZstdCompressed, "ZSTD_COMPRESSED"},
    {kEncrypted, "ENCRYPTED"},
    {kSigned, "SIGNED"},
    {kSharded, "SHARDED"},
    {kQuantized, "QUANTIZED"},
    {kHasFilterbank, "HAS_FILTERBANK"},
    {kHasModelCard, "HAS_MODEL_CARD"},
    {kStreaming, "STREAMING"},
    {kHasVocab, "HAS_VOCAB"},
    {kLayoutRowMajor, "LAYOUT_ROW_MAJOR"},
    {kLayoutColumnMajor, "LAYOUT_COLUMN_MAJOR"},
};

}  // namespace

std::string flag_names(uint16_t flags) {
  std::string out;
  for (int bit = 0; bit < 16; ++bit) {
    const auto mask = static_cast<uint16_t>(1u << bit);
    if ((flags & mask) == 0) continue;
    std::string name = "bit" + std::to_string(bit);
    for (const auto& f : kFlagNames)
      if (f.bit == mask) name = f.name;
    out += (out.empty() ? "" : "|") + name;
  }
  return out.empty() ? "none" : out;
}

}  // namespace quantflow::apr

// Zero-point groups, the layout AutoAWQ and GPTQ checkpoints take once unpacked (mlx-quant.md §6,
// §7; issue 11 spec item 3): nine codecs zp_q{bits}_g{gs}, bits 2, 4, 8 and group size 32, 64, 128,
// from one template. A block is one group of a row: { fp16 scale; u16 zero; codes[gs*bits/8] },
// codes an LSB-first bit stream (element e at bits [e*bits, (e+1)*bits)), and
// value = (q - zero) * scale in float32. zero is 16 bits because GPTQ v1 checkpoints store
// zero - 1 and wrap, so a real zero of 2^bits occurs and must decode as such.
//
// Encoding is asymmetric round to nearest as GPTQ and AWQ do it without calibration data, with
// these choices (all deterministic, none needs an importance matrix, which is ignored):
// - the group's range is widened to contain 0, as GPTQ's quantizer does: lo = min(min x, 0),
//   hi = max(max x, 0). The zero point then always lies in [0, 2^bits - 1] before clamping, and
//   0.0 is exactly on the grid (q = zero);
// - scale = fp16((hi - lo) / (2^bits - 1)); a scale that underflows fp16 is raised to the
//   smallest subnormal (2^-24) and one that overflows is lowered to 65504, so decoding never
//   multiplies by 0 or infinity;
// - codes are computed with the stored (fp16) scale, the one decoding uses:
//   zero = clamp(round(-lo / scale), 0, 2^bits - 1), q = clamp(round(x / scale) + zero, 0,
//   2^bits - 1), rounding half to even (torch.round's rule);
// - a group of zeros (hi == lo) stores scale 0, zero 0 and codes 0, which decode to +0.
// NaN and infinity are refused.
#include <algorithm>
#include <array>
#include <cstdint>
#include <iterator>
#include <string_view>

#include "codec_kit/block_extremes.hpp"
#include "codec_kit/block_fields.hpp"
#include "codec_kit/block_rows.hpp"
#include "codec_kit/fp16.hpp"
#include "codec_kit/quant_search.hpp"
#include "quantflow/plugin.hpp"

namespace {

namespace kit = quantflow::codec_kit;

constexpr uint16_t kSmallestSubnormalHalf = 0x0001;  // 2^-24
constexpr uint16_t kLargestFiniteHalf = 0x7BFF;      // 65504
// |x / scale| beyond this clamps to a code edge anyway; bounding it keeps nearest_int exact.
constexpr float kRoundingLimit = 1024.0f;

template <int Bits, int GroupSize>
struct ZeroPointCodec {
  static constexpr int kMaxCode = (1 << Bits) - 1;
  static constexpr int kCodeBytes = GroupSize * Bits / 8;

  struct Block {
    kit::Half scale;
    kit::U16 zero;
    uint8_t codes[kCodeBytes];  // element e at bits [e*Bits, (e+1)*Bits), bit 0 = LSB of codes[0]
  };
  static_assert(sizeof(Block) == sizeof(kit::Half) + sizeof(kit::U16) + kCodeBytes);

  static int rounded(float t) { return kit::nearest_int(std::clamp(t, -kRoundingLimit, kRoundingLimit)); }

  static uint16_t scale_bits(float lo, float hi) {
    const uint16_t bits = kit::fp32_to_fp16((hi - lo) / static_cast<float>(kMaxCode));
    if (bits == 0) return kSmallestSubnormalHalf;
    if (bits >= 0x7C00) return kLargestFiniteHalf;  // infinity (the range is never negative)
    return bits;
  }

  static void encode_block(const float* x, Block& y) {
    float lo, hi;
    kit::min_max(x, GroupSize, &lo, &hi);
    lo = std::min(lo, 0.0f);
    hi = std::max(hi, 0.0f);
    std::fill(std::begin(y.codes), std::end(y.codes), uint8_t{0});
    if (hi == lo) {
      kit::store_bits(y.scale, 0);
      kit::store(y.zero, uint16_t{0});
      return;
    }
    const uint16_t bits = scale_bits(lo, hi);
    const float scale = kit::fp16_to_fp32(bits);
    const int zero = std::clamp(rounded(-lo / scale), 0, kMaxCode);
    kit::store_bits(y.scale, bits);
    kit::store(y.zero, static_cast<uint16_t>(zero));
    for (int e = 0; e < GroupSize; ++e) {
      const int q = std::clamp(rounded(x[e] / scale) + zero, 0, kMaxCode);
      y.codes[e * Bits / 8] |= static_cast<uint8_t>(q << (e * Bits % 8));
    }
  }

  static void decode_block(const Block& b, float* y) {
    const float scale = kit::load(b.scale);
    const int zero = kit::load(b.zero);
    for (int e = 0; e < GroupSize; ++e) {
      const int q = (b.codes[e * Bits / 8] >> (e * Bits % 8)) & kMaxCode;
      y[e] = static_cast<float>(q - zero) * scale;
    }
  }

  static int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix) {
    return kit::encode_blocks<GroupSize, Block>(src, dst, n_rows, n_per_row, imatrix, encode_block);
  }

  static int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
    return kit::decode_blocks<GroupSize, Block>(src, dst, n_rows, n_per_row, decode_block);
  }
};

// Text assembled at compile time, so that every descriptor string has static storage.
struct Text {
  char chars[160] = {};  // an overflow is a compile error (constant evaluation)
  int size = 0;

  constexpr Text& add(std::string_view s) {
    for (char c : s) chars[size++] = c;
    return *this;
  }
  constexpr Text& add(int n) {
    char digits[8] = {};
    int k = 0;
    do digits[k++] = static_cast<char>('0' + n % 10);
    while ((n /= 10) > 0);
    while (k > 0) chars[size++] = digits[--k];
    return *this;
  }
  // bits + 32 / gs per weight (the scale and zero add 32 bits per group): "5", "4.5", "4.25".
  constexpr Text& add_bits_per_weight(int bits, int gs) {
    const int hundredths = bits * 100 + 3200 / gs;
    add(hundredths / 100);
    if (hundredths % 100 == 0) return *this;
    add(".");
    return hundredths % 10 == 0 ? add(hundredths % 100 / 10) : add(hundredths % 100);
  }
};

template <int Bits, int GroupSize>
struct Names {
  static constexpr Text codec = Text{}.add("zp_q").add(Bits).add("_g").add(GroupSize);
  static constexpr Text container_id = Text{}.add(Bits).add("/").add(GroupSize);
  static constexpr Text description = Text{}
                                          .add("AutoAWQ/GPTQ zero-point groups: ")
                                          .add(GroupSize)
                                          .add(" x ")
                                          .add(Bits)
                                          .add("-bit codes with an fp16 scale and a 16-bit zero, (q - zero) * scale (")
                                          .add_bits_per_weight(Bits, GroupSize)
                                          .add(" bits per weight)");
  static constexpr QfContainerId ids[] = {{"zero_point", container_id.chars}};
};

template <int Bits, int GroupSize>
constexpr QfCodecDescriptor kCodec = {
    .name = Names<Bits, GroupSize>::codec.chars,
    .description = Names<Bits, GroupSize>::description.chars,
    .block_elems = GroupSize,
    .block_bytes = sizeof(typename ZeroPointCodec<Bits, GroupSize>::Block),
    .kind = QF_KIND_QUANTIZED,
    .container_ids = Names<Bits, GroupSize>::ids,
    .n_container_ids = std::size(Names<Bits, GroupSize>::ids),
    .encode = ZeroPointCodec<Bits, GroupSize>::encode,
    .decode = ZeroPointCodec<Bits, GroupSize>::decode,
};

const QfCodecDescriptor* const kCodecs[] = {
    &kCodec<2, 32>, &kCodec<2, 64>, &kCodec<2, 128>,  //
    &kCodec<4, 32>, &kCodec<4, 64>, &kCodec<4, 128>,  //
    &kCodec<8, 32>, &kCodec<8, 64>, &kCodec<8, 128>,
};

const QfPluginDescriptor kPlugin = {
    .abi_version = QUANTFLOW_ABI_VERSION,
    .name = "codec-zero_point",
    .version = "1.0.0",
    .description = "AutoAWQ/GPTQ zero-point groups zp_q{2,4,8}_g{32,64,128}",
    .codecs = kCodecs,
    .n_codecs = std::size(kCodecs),
    .containers = nullptr,
    .n_containers = 0,
};

}  // namespace

QUANTFLOW_EXPORT_PLUGIN(kPlugin)

// Two toy codecs and transcoders between them, for the engine's direct path (QF_CASE picks
// the build). Both store pairs of multiples of 2^-10: qf_toy8 as int8 (|x| up to 0.124, six
// standard deviations of `quantflow synth` weights), qf_toy4 as signed 4-bit codes (|x| up to
// 0.0078, so most synthetic tensors do not fit) plus an origin byte that decoding ignores and
// that tells how the block was written: 0x00 by the encoder, 0xD1 by the transcoder. So the
// output bytes show which path every block took, while both paths decode alike.
//
//   TOY           the codecs, qf_toy8 -> qf_toy4 (exact while the values fit 4 bits, else
//                 QF_CODEC_INEXACT) and qf_toy4 -> qf_toy8 (always exact)
//   DUPLICATE     qf_toy8 -> qf_toy4 again: refused when TOY loaded first
//   TWICE         one pair listed twice
//   SELF          a transcoder from a codec into itself
//   NO_FUNCTION   a transcoder without a function
//   ORPHAN        qf_nowhere -> q8_0: loads, unusable without a qf_nowhere codec
//   THROWS        qf_throw4 -> qf_throw8 whose function throws (the codecs of TOY, renamed)
//   LIAR          qf_liar8 -> qf_liar4 flagged always exact that clamps (the codecs renamed)
#include <algorithm>
#include <cmath>
#include <iterator>
#include <stdexcept>
#include <vector>

#include "quantflow/plugin.hpp"

namespace {

constexpr float kUnit = 1024.0f;  // values are multiples of 2^-10
constexpr uint8_t kEncoded = 0x00, kTranscoded = 0xD1;

[[maybe_unused]] int32_t direct_ok(const void*, void*, int64_t, int64_t) { return QF_CODEC_OK; }

[[maybe_unused]] int8_t nibble_value(uint8_t nibble) { return static_cast<int8_t>((nibble ^ 8) - 8); }

[[maybe_unused]] int32_t encode8(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float*) {
  if (n_per_row % 2 != 0) return QF_CODEC_BAD_ROW_LENGTH;
  auto* out = static_cast<int8_t*>(dst);
  for (int64_t i = 0; i < n_rows * n_per_row; ++i)
    out[i] = static_cast<int8_t>(std::clamp(std::nearbyint(src[i] * kUnit), -128.0f, 127.0f));
  return QF_CODEC_OK;
}

[[maybe_unused]] int32_t decode8(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  if (n_per_row % 2 != 0) return QF_CODEC_BAD_ROW_LENGTH;
  const auto* in = static_cast<const int8_t*>(src);
  for (int64_t i = 0; i < n_rows * n_per_row; ++i) dst[i] = static_cast<float>(in[i]) / kUnit;
  return QF_CODEC_OK;
}

// Block of qf_toy4: {codes (element 0 low nibble, 1 high), origin}.
[[maybe_unused]] int32_t encode4(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float*) {
  if (n_per_row % 2 != 0) return QF_CODEC_BAD_ROW_LENGTH;
  auto* out = static_cast<uint8_t*>(dst);
  for (int64_t b = 0; b < n_rows * n_per_row / 2; ++b) {
    const auto lo = static_cast<int>(std::clamp(std::nearbyint(src[2 * b] * kUnit), -8.0f, 7.0f));
    const auto hi = static_cast<int>(std::clamp(std::nearbyint(src[2 * b + 1] * kUnit), -8.0f, 7.0f));
    out[2 * b] = static_cast<uint8_t>((lo & 15) | ((hi & 15) << 4));
    out[2 * b + 1] = kEncoded;
  }
  return QF_CODEC_OK;
}

[[maybe_unused]] int32_t decode4(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  if (n_per_row % 2 != 0) return QF_CODEC_BAD_ROW_LENGTH;
  const auto* in = static_cast<const uint8_t*>(src);
  for (int64_t b = 0; b < n_rows * n_per_row / 2; ++b) {
    dst[2 * b] = static_cast<float>(nibble_value(in[2 * b] & 15)) / kUnit;
    dst[2 * b + 1] = static_cast<float>(nibble_value(in[2 * b] >> 4)) / kUnit;
  }
  return QF_CODEC_OK;
}

[[maybe_unused]] int32_t toy8_to_toy4(const void* src, void* dst, int64_t n_rows, int64_t n_per_row) {
  if (n_per_row % 2 != 0) return QF_CODEC_BAD_ROW_LENGTH;
  const auto* in = static_cast<const int8_t*>(src);
  auto* out = static_cast<uint8_t*>(dst);
  for (int64_t b = 0; b < n_rows * n_per_row / 2; ++b) {
    const int lo = in[2 * b], hi = in[2 * b + 1];
    if (lo < -8 || lo > 7 || hi < -8 || hi > 7) return QF_CODEC_INEXACT;
    out[2 * b] = static_cast<uint8_t>((lo & 15) | ((hi & 15) << 4));
    out[2 * b + 1] = kTranscoded;
  }
  return QF_CODEC_OK;
}

[[maybe_unused]] int32_t toy4_to_toy8(const void* src, void* dst, int64_t n_rows, int64_t n_per_row) {
  if (n_per_row % 2 != 0) return QF_CODEC_BAD_ROW_LENGTH;
  const auto* in = static_cast<const uint8_t*>(src);
  auto* out = static_cast<int8_t*>(dst);
  for (int64_t b = 0; b < n_rows * n_per_row / 2; ++b) {
    out[2 * b] = nibble_value(in[2 * b] & 15);
    out[2 * b + 1] = nibble_value(in[2 * b] >> 4);
  }
  return QF_CODEC_OK;
}

[[maybe_unused]] int32_t throws(const void*, void*, int64_t, int64_t) {
  throw std::runtime_error("transcoder exploded");
}

[[maybe_unused]] const QfContainerId kToy8Ids[] = {{"gguf", "242"}};
[[maybe_unused]] const QfContainerId kToy4Ids[] = {{"gguf", "243"}};

#define TOY_CODEC(codec_name, ids, enc, dec)                                                                     \
  QfCodecDescriptor {                                                                                            \
    .name = codec_name, .description = "toy codec for the transcoder tests", .block_elems = 2, .block_bytes = 2, \
    .kind = QF_KIND_QUANTIZED, .container_ids = ids, .n_container_ids = 1, .encode = enc, .decode = dec,         \
  }

#define TRANSCODER(from_name, to_name, fn, flag_bits) \
  QfTranscoderDescriptor { .from = from_name, .to = to_name, .description = "toy", .transcode = fn, .flags = flag_bits }

#if defined(QF_CASE_TOY) || defined(QF_CASE_THROWS) || defined(QF_CASE_LIAR)
#if defined(QF_CASE_TOY)
const QfCodecDescriptor kCodecs[] = {TOY_CODEC("qf_toy8", kToy8Ids, encode8, decode8),
                                     TOY_CODEC("qf_toy4", kToy4Ids, encode4, decode4)};
const QfTranscoderDescriptor kTable[] = {TRANSCODER("qf_toy8", "qf_toy4", toy8_to_toy4, 0),
                                         TRANSCODER("qf_toy4", "qf_toy8", toy4_to_toy8, QF_TRANSCODE_ALWAYS_EXACT)};
#elif defined(QF_CASE_THROWS)
const QfContainerId kThrow8Ids[] = {{"gguf", "244"}}, kThrow4Ids[] = {{"gguf", "245"}};
const QfCodecDescriptor kCodecs[] = {TOY_CODEC("qf_throw8", kThrow8Ids, encode8, decode8),
                                     TOY_CODEC("qf_throw4", kThrow4Ids, encode4, decode4)};
const QfTranscoderDescriptor kTable[] = {TRANSCODER("qf_throw4", "qf_throw8", throws, QF_TRANSCODE_ALWAYS_EXACT)};
#else
// Claims to be always exact, but clamps what does not fit instead of reporting it.
int32_t clamping(const void* src, void* dst, int64_t n_rows, int64_t n_per_row) {
  std::vector<float> values(static_cast<size_t>(n_rows * n_per_row));
  decode8(src, values.data(), n_rows, n_per_row);
  return encode4(values.data(), dst, n_rows, n_per_row, nullptr);
}
const QfContainerId kLiar8Ids[] = {{"gguf", "246"}}, kLiar4Ids[] = {{"gguf", "247"}};
const QfCodecDescriptor kCodecs[] = {TOY_CODEC("qf_liar8", kLiar8Ids, encode8, decode8),
                                     TOY_CODEC("qf_liar4", kLiar4Ids, encode4, decode4)};
const QfTranscoderDescriptor kTable[] = {TRANSCODER("qf_liar8", "qf_liar4", clamping, QF_TRANSCODE_ALWAYS_EXACT)};
#endif
const QfCodecDescriptor* const kCodecList[] = {&kCodecs[0], &kCodecs[1]};
const QfTranscoderDescriptor* const kList[] = {&kTable[0], &kTable[std::size(kTable) - 1]};
constexpr uint32_t kCodecCount = 2;
#else
#if defined(QF_CASE_DUPLICATE)
const QfTranscoderDescriptor kTable[] = {TRANSCODER("qf_toy8", "qf_toy4", direct_ok, 0)};
#elif defined(QF_CASE_TWICE)
const QfTranscoderDescriptor kTable[] = {TRANSCODER("qf_a", "qf_b", direct_ok, 0),
                                         TRANSCODER("QF_A", "qf_b", direct_ok, 0)};
#elif defined(QF_CASE_SELF)
const QfTranscoderDescriptor kTable[] = {TRANSCODER("q8_0", "Q8_0", direct_ok, 0)};
#elif defined(QF_CASE_NO_FUNCTION)
const QfTranscoderDescriptor kTable[] = {TRANSCODER("qf_a", "qf_b", nullptr, 0)};
#elif defined(QF_CASE_ORPHAN)
const QfTranscoderDescriptor kTable[] = {TRANSCODER("qf_nowhere", "q8_0", direct_ok, QF_TRANSCODE_ALWAYS_EXACT)};
#endif
const QfCodecDescriptor* const* const kCodecList = nullptr;
const QfTranscoderDescriptor* const kList[] = {&kTable[0], &kTable[std::size(kTable) - 1]};
constexpr uint32_t kCodecCount = 0;
#endif

const QfPluginDescriptor kPlugin = {
    .abi_version = QUANTFLOW_ABI_VERSION,
    .name = "qf-" QF_CASE_NAME,
    .version = "1.0",
    .description = "toy transcoders for the engine's tests",
    .codecs = kCodecList,
    .n_codecs = kCodecCount,
    .containers = nullptr,
    .n_containers = 0,
    .transcoders = kList,
    .n_transcoders = static_cast<uint32_t>(std::size(kTable)),
};

}  // namespace

QUANTFLOW_EXPORT_PLUGIN(kPlugin)

// Plugins for `quantflow plugin-check`, one per build (QF_CASE): a toy codec that passes
// every check (CONFORMING), and the same codec with one defect each, which plugin-check must
// report with a precise FAIL line (tests/integration/test_plugin_check.cpp).
//
// The toy codec: blocks of 4 values as one f32 scale (max |x| / 127), 4 int8 codes and one
// reserved byte (written as 0), 9 bytes.
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "quantflow/plugin.hpp"

#define CONFORMING 0
#define NONZERO_ZEROS 1       // decode of an all-zero block gives 1/256, not 0
#define NONDETERMINISTIC 2    // the reserved byte counts encode calls
#define UNWRITTEN_BYTE 3      // the reserved byte is never written
#define RACY 4                // a static scratch block shared by all threads
#define THROWS 5              // encode throws
#define BAD_GEOMETRY 6        // a "plain floating" type with blocks of 4 elements
#define ABORTS 7              // decode aborts the process
#define UPPER_CASE 8          // the codec's name has upper-case letters
#define PROBE_OUT_OF_RANGE 9  // a container whose probe answers 101

namespace {

constexpr int64_t kBlockElems = 4;
constexpr int64_t kBlockBytes = 9;

[[maybe_unused]] std::atomic<int> encode_calls{0};

void encode_block(const float* x, uint8_t* y) {
#if QF_CASE == RACY
  static float scratch[kBlockElems];
  std::memcpy(scratch, x, sizeof scratch);
  std::this_thread::sleep_for(std::chrono::microseconds(20));  // widens the window for a race
  x = scratch;
#endif
  float amax = 0.0f;
  for (int64_t i = 0; i < kBlockElems; ++i) amax = std::fmax(amax, std::fabs(x[i]));
  const float scale = amax / 127.0f;
  std::memcpy(y, &scale, sizeof scale);
  for (int64_t i = 0; i < kBlockElems; ++i)
    y[4 + i] = static_cast<uint8_t>(static_cast<int8_t>(scale != 0.0f ? std::round(x[i] / scale) : 0.0f));
#if QF_CASE == NONDETERMINISTIC
  y[8] = static_cast<uint8_t>(encode_calls.load());
#elif QF_CASE != UNWRITTEN_BYTE
  y[8] = 0;
#endif
}

int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float*) {
#if QF_CASE == THROWS
  throw std::runtime_error("encoder exploded");
#endif
  ++encode_calls;
  if (n_per_row % kBlockElems != 0) return QF_CODEC_BAD_ROW_LENGTH;
  for (int64_t i = 0; i < n_rows * n_per_row; ++i)
    if (!std::isfinite(src[i])) return QF_CODEC_NON_FINITE;
  auto* out = static_cast<uint8_t*>(dst);
  for (int64_t b = 0; b < n_rows * n_per_row / kBlockElems; ++b)
    encode_block(src + b * kBlockElems, out + b * kBlockBytes);
  return QF_CODEC_OK;
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
#if QF_CASE == ABORTS
  std::abort();
#endif
  if (n_per_row % kBlockElems != 0) return QF_CODEC_BAD_ROW_LENGTH;
  const auto* in = static_cast<const uint8_t*>(src);
  for (int64_t b = 0; b < n_rows * n_per_row / kBlockElems; ++b) {
    const uint8_t* y = in + b * kBlockBytes;
    float scale;
    std::memcpy(&scale, y, sizeof scale);
    for (int64_t i = 0; i < kBlockElems; ++i) {
      float value = static_cast<float>(static_cast<int8_t>(y[4 + i])) * scale;
#if QF_CASE == NONZERO_ZEROS
      if (scale == 0.0f) value = 1.0f / 256;
#endif
      dst[b * kBlockElems + i] = value;
    }
  }
  return QF_CODEC_OK;
}

#if QF_CASE == BAD_GEOMETRY
constexpr uint32_t kKind = 0;  // floating: a plain type, which must have blocks of 1 element
#else
constexpr uint32_t kKind = 2;  // quantized
#endif

#if QF_CASE == UPPER_CASE
#define QF_CODEC_NAME "QF_Upper"
#else
#define QF_CODEC_NAME QF_CASE_NAME
#endif

[[maybe_unused]] const QfCodecDescriptor codec = {.name = QF_CODEC_NAME,
                                                  .description = "a toy 9-byte block codec for plugin-check's tests",
                                                  .block_elems = kBlockElems,
                                                  .block_bytes = kBlockBytes,
                                                  .kind = kKind,
                                                  .flags = 0,
                                                  .container_ids = nullptr,
                                                  .n_container_ids = 0,
                                                  .encode = encode,
                                                  .decode = decode};

#if QF_CASE == PROBE_OUT_OF_RANGE
int32_t probe(const unsigned char*, size_t) { return 101; }

quantflow::Result<std::unique_ptr<quantflow::Reader>> open_reader(const std::string&, const quantflow::CodecCatalog&) {
  return quantflow::bad_input("this container reads nothing");
}

const QfContainerDescriptor container = {.name = QF_CASE_NAME,
                                         .description = "probe answers out of range",
                                         .extensions = ".qfprobe",
                                         .probe = probe,
                                         .open_reader = open_reader,
                                         .create_writer = nullptr};
const QfContainerDescriptor* const containers[] = {&container};
const QfPluginDescriptor descriptor = {QUANTFLOW_ABI_VERSION,
                                       "qf-" QF_CASE_NAME,
                                       "1.0",
                                       "a container for plugin-check's tests",
                                       nullptr,
                                       0,
                                       containers,
                                       1};
#else
const QfCodecDescriptor* const codecs[] = {&codec};
const QfPluginDescriptor descriptor = {
    QUANTFLOW_ABI_VERSION, "qf-" QF_CASE_NAME, "1.0", "a codec for plugin-check's tests", codecs, 1, nullptr, 0};
#endif

}  // namespace

QUANTFLOW_EXPORT_PLUGIN(descriptor)

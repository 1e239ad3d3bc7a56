// Encode and decode throughput of every loaded codec, one thread, in MB/s of f32 data.
// Input: the golden matrix (gaussian rows, outliers, zeros, ...) tiled to 4 MiB.
#include <benchmark/benchmark.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/registry.hpp"

namespace {

constexpr int64_t kCols = 4096;
constexpr int64_t kRows = 256;

std::vector<float> load_floats(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
  std::vector<float> out(bytes.size() / 4);
  std::memcpy(out.data(), bytes.data(), out.size() * 4);
  return out;
}

const std::vector<float>& input() {
  static const std::vector<float> data = [] {
    const auto golden = load_floats(std::string(QF_REPO_DIR) + "/tests/data/ggml-golden/input.f32");
    std::vector<float> out(static_cast<size_t>(kRows * kCols));
    for (size_t i = 0; i < out.size(); ++i) out[i] = golden[i % golden.size()];
    return out;
  }();
  return data;
}

const std::vector<float>& imatrix() {
  static const std::vector<float> data = [] {
    const auto golden = load_floats(std::string(QF_REPO_DIR) + "/tests/data/ggml-golden/imatrix.f32");
    std::vector<float> out(kCols);
    for (size_t i = 0; i < out.size(); ++i) out[i] = golden[i % golden.size()];
    return out;
  }();
  return data;
}

// Row-scaled codecs append each row's scale to the row's blocks; whole-tensor codecs take each
// row as a tensor of its own (with its tensor-wide prefix).
size_t encoded_bytes(const quantflow::CodecDescriptor& codec) {
  const uint64_t tail = codec.row_scale ? codec.row_scale->scale_bytes_per_row : 0;
  return static_cast<size_t>(kRows * (quantflow::dtype_of(codec).bytes_for(kCols) + tail));
}

void bench_encode(benchmark::State& state, const quantflow::CodecDescriptor* codec) {
  const auto& x = input();
  const float* w = (codec->flags & QF_CODEC_IMATRIX_REQUIRED) ? imatrix().data() : nullptr;
  std::vector<std::byte> q(encoded_bytes(*codec));
  for (auto _ : state) {
    if (codec->encode(x.data(), q.data(), kRows, kCols, w) != QF_CODEC_OK) state.SkipWithError("encode failed");
    benchmark::DoNotOptimize(q.data());
  }
  state.SetBytesProcessed(state.iterations() * kRows * kCols * 4);
}

void bench_decode(benchmark::State& state, const quantflow::CodecDescriptor* codec) {
  const auto& x = input();
  std::vector<std::byte> q(encoded_bytes(*codec));
  if (codec->encode) {
    const float* w = (codec->flags & QF_CODEC_IMATRIX_REQUIRED) ? imatrix().data() : nullptr;
    (void)codec->encode(x.data(), q.data(), kRows, kCols, w);
  }
  std::vector<float> y(x.size());
  for (auto _ : state) {
    if (codec->decode(q.data(), y.data(), kRows, kCols) != QF_CODEC_OK) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(state.iterations() * kRows * kCols * 4);
}

}  // namespace

int main(int argc, char** argv) {
  static quantflow::core::Registry registry;
  registry.load_directory(QF_PLUGIN_DIR);
  for (const auto* codec : registry.codecs()) {
    if (kCols % codec->block_elems != 0) continue;
    if (codec->encode)
      benchmark::RegisterBenchmark((std::string("encode/") + codec->name).c_str(), bench_encode, codec);
    if (codec->decode)
      benchmark::RegisterBenchmark((std::string("decode/") + codec->name).c_str(), bench_decode, codec);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

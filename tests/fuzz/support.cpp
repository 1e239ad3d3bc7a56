#include "support.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "grouped_codecs.hpp"
#include "quantflow/plugin.hpp"

extern "C" const QfPluginDescriptor* quantflow_plugin_descriptor();  // plugins/codecs/f32

namespace qf_fuzz {

namespace fs = std::filesystem;

namespace {

struct Scratch {
  fs::path dir;
  Scratch() {
    const char* tmp = std::getenv("TMPDIR");
    // tmpfs keeps a file write per fuzz run cheap.
    const fs::path base = fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::path(tmp ? tmp : "/tmp");
    dir = base / ("quantflow-fuzz-" + std::to_string(::getpid()));
    fs::create_directories(dir);
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

Scratch& scratch() {
  static Scratch s;
  return s;
}

// GGUF, safetensors and APR files name their codec-backed encodings by the codec plugins' ids, and
// the fuzz build loads no plugins: besides the linked-in f32 codec, the catalog knows the
// geometry (no functions) of the other types the seeds use, so the parsers get past their
// tensor records.
const QfContainerId kF16Ids[] = {{"gguf", "1"}, {"safetensors", "F16"}, {"apr", "1"}};
const QfContainerId kBF16Ids[] = {{"safetensors", "BF16"}, {"apr", "30"}};
const QfContainerId kAprQ4Ids[] = {{"apr", "128"}};
const QfContainerId kAprQ8Ids[] = {{"apr", "129"}};
const QfContainerId kQ8_0Ids[] = {{"gguf", "8"}};
const QfContainerId kF8E4M3Ids[] = {{"safetensors", "F8_E4M3"}};

// FP8 checkpoints are dequantized while read, so their codes need a decoder; any value will do.
int32_t decode_bytes_as_values(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  const auto* codes = static_cast<const uint8_t*>(src);
  for (int64_t i = 0; i < n_rows * n_per_row; ++i) dst[i] = static_cast<float>(codes[i]);
  return QF_CODEC_OK;
}
const QfCodecDescriptor kGeometryOnly[] = {
    {.name = "f16",
     .description = "geometry only",
     .block_elems = 1,
     .block_bytes = 2,
     .kind = QF_KIND_FLOATING,
     .container_ids = kF16Ids,
     .n_container_ids = std::size(kF16Ids)},
    {.name = "bf16",
     .description = "geometry only",
     .block_elems = 1,
     .block_bytes = 2,
     .kind = QF_KIND_FLOATING,
     .container_ids = kBF16Ids,
     .n_container_ids = std::size(kBF16Ids)},
    {.name = "q8_0",
     .description = "geometry only",
     .block_elems = 32,
     .block_bytes = 34,
     .kind = QF_KIND_QUANTIZED,
     .container_ids = kQ8_0Ids,
     .n_container_ids = std::size(kQ8_0Ids)},
    {.name = "f8_e4m3",
     .description = "codes as values",
     .block_elems = 1,
     .block_bytes = 1,
     .kind = QF_KIND_FLOATING,
     .container_ids = kF8E4M3Ids,
     .n_container_ids = std::size(kF8E4M3Ids),
     .decode = decode_bytes_as_values},
    // APR's native encodings: blocks over the flattened tensor (apr_q8: a 4-byte scale first).
    {.name = "apr_q4",
     .description = "geometry only",
     .block_elems = 32,
     .block_bytes = 18,
     .kind = QF_KIND_QUANTIZED,
     .flags = QF_CODEC_WHOLE_TENSOR,
     .container_ids = kAprQ4Ids,
     .n_container_ids = std::size(kAprQ4Ids)},
    {.name = "apr_q8",
     .description = "geometry only",
     .block_elems = 1,
     .block_bytes = 1,
     .kind = QF_KIND_QUANTIZED,
     .flags = QF_CODEC_WHOLE_TENSOR,
     .container_ids = kAprQ8Ids,
     .n_container_ids = std::size(kAprQ8Ids),
     .tensor_prefix_bytes = 4},
};

class FuzzCatalog final : public quantflow::CodecCatalog {
 public:
  FuzzCatalog() : plugin_(quantflow_plugin_descriptor()) {
    for (uint32_t i = 0; i < plugin_->n_codecs; ++i) codecs_.push_back(plugin_->codecs[i]);
    for (const QfCodecDescriptor& c : kGeometryOnly) codecs_.push_back(&c);
    for (const QfCodecDescriptor* c : grouped_codecs()) codecs_.push_back(c);
  }
  const quantflow::CodecDescriptor* find(std::string_view name) const override {
    for (const quantflow::CodecDescriptor* c : codecs_)
      if (name == c->name) return c;
    return nullptr;
  }
  const quantflow::CodecDescriptor* find_by_container_id(std::string_view container,
                                                         std::string_view id) const override {
    for (const quantflow::CodecDescriptor* c : codecs_)
      for (uint32_t j = 0; j < c->n_container_ids; ++j) {
        const auto& cid = c->container_ids[j];
        if (container == cid.container && id == cid.id) return c;
      }
    return nullptr;
  }

 private:
  const QfPluginDescriptor* plugin_;
  std::vector<const quantflow::CodecDescriptor*> codecs_;
};

}  // namespace

std::string scratch_dir() { return scratch().dir.string(); }

std::string scratch_file(const std::string& name, const uint8_t* data, size_t size) {
  const fs::path path = scratch().dir / name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out.good()) std::abort();  // the harness, not the parser, failed
  return path.string();
}

const quantflow::CodecCatalog& catalog() {
  static const FuzzCatalog c;
  return c;
}

void check_reader(const quantflow::Reader& reader) {
  const auto& tensors = reader.tensors();
  for (size_t i = 0; i < tensors.size(); ++i) {
    auto data = reader.read(i);
    if (!data.ok()) continue;  // a refusal is fine; a lie about the size is not
    if (data->bytes.size() != tensors[i].n_bytes) __builtin_trap();
    // Touch the first and last byte: a view outside the mapping faults here.
    if (!data->bytes.empty()) {
      volatile std::byte first = data->bytes.front(), last = data->bytes.back();
      (void)first;
      (void)last;
    }
  }
}

}  // namespace qf_fuzz

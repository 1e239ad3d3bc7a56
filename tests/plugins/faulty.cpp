// A well-formed plugin whose code fails at use: a codec that returns an undocumented error,
// a codec that throws, a container whose open and create_writer throw, and one ("qflate")
// that opens and creates fine but throws when a tensor is read or written.
#include <cstring>
#include <stdexcept>

#include "quantflow/plugin.hpp"

namespace {

int32_t encode_fails(const float*, void*, int64_t, int64_t, const float*) { return 42; }
int32_t encode_throws(const float*, void*, int64_t, int64_t, const float*) {
  throw std::runtime_error("encoder exploded");
}

const QfContainerId fail_ids[] = {{"gguf", "240"}};
const QfContainerId throw_ids[] = {{"gguf", "241"}};
const QfCodecDescriptor fail_codec = {
    .name = "qf_fail",
    .description = "encode returns an undocumented code",
    .block_elems = 32,
    .block_bytes = 8,
    .kind = QF_KIND_QUANTIZED,
    .container_ids = fail_ids,
    .n_container_ids = 1,
    .encode = encode_fails,
};
const QfCodecDescriptor throw_codec = {
    .name = "qf_throw",
    .description = "encode throws",
    .block_elems = 32,
    .block_bytes = 8,
    .kind = QF_KIND_QUANTIZED,
    .container_ids = throw_ids,
    .n_container_ids = 1,
    .encode = encode_throws,
};

int32_t probe(const unsigned char* head, size_t n) { return n >= 7 && std::memcmp(head, "QFTHROW", 7) == 0 ? 100 : 0; }

quantflow::Result<std::unique_ptr<quantflow::Reader>> open_reader(const std::string&, const quantflow::CodecCatalog&) {
  throw std::runtime_error("reader exploded");
}

quantflow::Result<std::unique_ptr<quantflow::Writer>> create_writer(quantflow::OutputSink&,
                                                                    const quantflow::CodecCatalog&,
                                                                    const quantflow::WriterOptions&) {
  throw std::runtime_error("writer exploded");
}

const QfContainerDescriptor container = {"qfthrow",    "open and create throw", ".qfthrow", probe, open_reader,
                                         create_writer};

class LateReader final : public quantflow::Reader {
 public:
  std::string container() const override { return "qflate"; }
  std::string version() const override { return ""; }
  const quantflow::Metadata& metadata() const override { return metadata_; }
  const std::vector<quantflow::TensorInfo>& tensors() const override { return tensors_; }
  quantflow::Result<quantflow::TensorData> read(size_t) const override { throw std::runtime_error("read exploded"); }

 private:
  quantflow::Metadata metadata_;
  std::vector<quantflow::TensorInfo> tensors_{
      {"t", quantflow::DType{"f32", 1, 4, quantflow::DTypeKind::floating}, {32}, 128, 0}};
};

class LateWriter final : public quantflow::Writer {
 public:
  quantflow::Result<std::vector<size_t>> begin(const quantflow::Metadata&,
                                               const std::vector<quantflow::TensorInfo>& tensors) override {
    std::vector<size_t> order(tensors.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    return order;
  }
  quantflow::Status write_tensor(size_t, std::span<const std::byte>) override {
    throw std::runtime_error("write exploded");
  }
  quantflow::Status finish() override { return {}; }
};

int32_t late_probe(const unsigned char* head, size_t n) {
  return n >= 6 && std::memcmp(head, "QFLATE", 6) == 0 ? 100 : 0;
}

quantflow::Result<std::unique_ptr<quantflow::Reader>> late_open(const std::string&, const quantflow::CodecCatalog&) {
  return std::unique_ptr<quantflow::Reader>(std::make_unique<LateReader>());
}

quantflow::Result<std::unique_ptr<quantflow::Writer>> late_create(quantflow::OutputSink&,
                                                                  const quantflow::CodecCatalog&,
                                                                  const quantflow::WriterOptions&) {
  return std::unique_ptr<quantflow::Writer>(std::make_unique<LateWriter>());
}

const QfContainerDescriptor late = {"qflate", "reads and writes throw", ".qflate", late_probe, late_open, late_create};

const QfCodecDescriptor* const codecs[] = {&fail_codec, &throw_codec};
const QfContainerDescriptor* const containers[] = {&container, &late};
const QfPluginDescriptor descriptor = {
    QUANTFLOW_ABI_VERSION, "qf-test-faulty", "1.0", "fails at use", codecs, 2, containers, 2};

}  // namespace

QUANTFLOW_EXPORT_PLUGIN(descriptor)

// A well-formed plugin whose code fails at use: a codec that returns an undocumented error,
// a codec that throws, and a container whose open and create_writer throw.
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
    "qf_fail", "encode returns an undocumented code", 32, 8, 2, 0, fail_ids, 1, encode_fails, nullptr, nullptr};
const QfCodecDescriptor throw_codec = {"qf_throw", "encode throws", 32,      8,      2, 0, throw_ids,
                                       1,          encode_throws,   nullptr, nullptr};

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

const QfCodecDescriptor* const codecs[] = {&fail_codec, &throw_codec};
const QfContainerDescriptor* const containers[] = {&container};
const QfPluginDescriptor descriptor = {
    QUANTFLOW_ABI_VERSION, "qf-test-faulty", "1.0", "fails at use", codecs, 2, containers, 1};

}  // namespace

QUANTFLOW_EXPORT_PLUGIN(descriptor)

// Writes a small synthetic model (f32 tensors, a few bundled encodings the container accepts,
// typed metadata) through the container's writer into a temporary file, reads it back with
// its reader, and compares names, dtypes, shapes, bytes and metadata.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>

#include <fmt/format.h>

#include "conformance/codec_calls.hpp"
#include "conformance/codec_inputs.hpp"
#include "conformance/container_checks.hpp"
#include "core/atomic_output.hpp"
#include "core/counting_sink.hpp"
#include "core/plugin_guard.hpp"
#include "core/registry.hpp"

namespace quantflow::conformance {

namespace {

struct SyntheticTensor {
  TensorInfo info;
  std::vector<std::byte> bytes;
};

// Encodings tried besides f32, when a loaded codec provides them and the container takes them.
constexpr const char* kBundledEncodings[] = {"f16", "bf16", "q8_0", "q4_k"};
constexpr int64_t kRowLength = 256;

Metadata synthetic_metadata() {
  Metadata m;
  m.set("general.name", MetaValue::make_string("quantflow plugin-check"));
  m.set("conformance.count", MetaValue::make_u32(3));
  m.set("conformance.scale", MetaValue::make_f32(0.5f));
  m.set("conformance.flag", MetaValue::make_bool(true));
  m.set("conformance.ids", MetaValue::make_array(MetaType::i32, {MetaValue::make_i32(1), MetaValue::make_i32(-2),
                                                                 MetaValue::make_i32(3)}));
  return m;
}

std::vector<std::byte> as_bytes(const std::vector<float>& values) {
  std::vector<std::byte> out(values.size() * sizeof(float));
  std::memcpy(out.data(), values.data(), out.size());
  return out;
}

SyntheticTensor f32_tensor(std::string name, Shape shape) {
  const DType f32{"f32", 1, 4, DTypeKind::floating};
  const auto values = random_rows(1, static_cast<int64_t>(element_count(shape)));
  SyntheticTensor t{{std::move(name), f32, shape, values.size() * sizeof(float), 0}, as_bytes(values)};
  return t;
}

// Two rows encoded with `codec`, or nothing when the codec cannot make them.
std::optional<SyntheticTensor> encoded_tensor(const CodecDescriptor& codec) {
  if (codec.encode == nullptr || codec.row_scale != nullptr || kRowLength % codec.block_elems != 0) return std::nullopt;
  const auto rows = random_rows(2, kRowLength);
  const Shape shape{2, kRowLength};
  const EncodingRows call = encoding_rows(dtype_of(codec), shape);
  std::vector<std::byte> bytes(dtype_of(codec).bytes_for(element_count(shape)));
  if (!call_encode(codec, rows.data(), bytes.data(), static_cast<int64_t>(call.n_rows),
                   static_cast<int64_t>(call.n_per_row), nullptr)
           .ok())
    return std::nullopt;
  return SyntheticTensor{{fmt::format("conformance.{}", codec.name), dtype_of(codec), shape, bytes.size(), 0},
                         std::move(bytes)};
}

// The writer's answer to a header holding just `tensor`: empty when it accepts it.
std::string refusal(const ContainerSubject& s, const SyntheticTensor& tensor) {
  core::CountingSink sink("(trial)");
  auto writer = core::create_writer(s.container, sink, s.catalog, {});
  if (!writer.ok()) return writer.status().message();
  auto order = (*writer)->begin(Metadata{}, {tensor.info});
  return order.ok() ? std::string() : order.status().message();
}

// A folder container's companion files, written as the host writes them after the weights.
Status write_companions(const ContainerSubject& s, const Metadata& metadata, const std::vector<TensorInfo>& infos) {
  const QfFolderLayout* layout = s.container.folder;
  for (uint32_t i = 0; layout != nullptr && i < layout->n_companions; ++i) {
    QF_ASSIGN_OR_RETURN(auto text, layout->companions[i].text(metadata, infos, s.catalog));
    if (text.empty()) continue;
    QF_RETURN_IF_ERROR(core::write_file_atomically(s.written_model() + "/" + layout->companions[i].name, text));
  }
  return {};
}

Status write_file(const ContainerSubject& s, const Metadata& metadata, const std::vector<SyntheticTensor>& tensors) {
  if (s.container.folder != nullptr) {
    std::error_code ec;
    std::filesystem::create_directories(s.written_model(), ec);
    if (ec) return io_error("cannot create the model folder: " + ec.message()).with_file(s.written_model());
  }
  QF_ASSIGN_OR_RETURN(auto sink, core::AtomicFileSink::create(s.written_file()));
  QF_ASSIGN_OR_RETURN(auto writer, core::create_writer(s.container, *sink, s.catalog, {}));
  std::vector<TensorInfo> infos;
  for (const auto& t : tensors) infos.push_back(t.info);
  QF_ASSIGN_OR_RETURN(auto order, writer->begin(metadata, infos));
  if (order.size() != tensors.size())
    return internal_error(fmt::format("begin() returned an order of {} tensors for {}", order.size(), tensors.size()));
  for (const size_t index : order) {
    if (index >= tensors.size()) return internal_error(fmt::format("begin() returned tensor index {}", index));
    QF_RETURN_IF_ERROR(writer->write_tensor(index, tensors[index].bytes));
  }
  QF_RETURN_IF_ERROR(writer->finish());
  QF_RETURN_IF_ERROR(sink->commit());
  return write_companions(s, metadata, infos);
}

// The first difference between what was written and what the reader gives back.
std::string compare(const Reader& reader, const Metadata& metadata, const std::vector<SyntheticTensor>& tensors) {
  const auto& read = reader.tensors();
  if (read.size() != tensors.size()) return fmt::format("wrote {} tensors, read back {}", tensors.size(), read.size());
  for (const auto& t : tensors) {
    const auto it = std::find_if(read.begin(), read.end(), [&](const TensorInfo& r) { return r.name == t.info.name; });
    if (it == read.end()) return fmt::format("tensor '{}' was written but is not read back", t.info.name);
    if (!(it->dtype == t.info.dtype))
      return fmt::format("tensor '{}': wrote dtype {}, read back {}", t.info.name, t.info.dtype.name, it->dtype.name);
    if (it->shape != t.info.shape)
      return fmt::format("tensor '{}': wrote shape {}, read back {}", t.info.name, shape_to_string(t.info.shape),
                         shape_to_string(it->shape));
    auto data = reader.read(static_cast<size_t>(it - read.begin()));
    if (!data.ok()) return fmt::format("tensor '{}': read failed: {}", t.info.name, data.status().message());
    if (!std::equal(data->bytes.begin(), data->bytes.end(), t.bytes.begin(), t.bytes.end()))
      return fmt::format("tensor '{}': the bytes read back differ from those written", t.info.name);
  }
  for (const auto& e : metadata.entries()) {
    const MetaValue* value = reader.metadata().find(e.key);
    if (value == nullptr) return fmt::format("metadata key '{}' was written but is not read back", e.key);
    if (!(*value == e.value))
      return fmt::format("metadata key '{}': wrote a {}, read back a different {}", e.key, meta_type_name(e.value.type),
                         meta_type_name(value->type));
  }
  return {};
}

int32_t probe_file(const ContainerSubject& s) {
  if (s.container.folder != nullptr)
    return s.container.probe_folder ? s.container.probe_folder(s.written_model().c_str()) : 0;
  std::ifstream in(s.written_file(), std::ios::binary);
  std::string head(4096, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  return s.container.probe(reinterpret_cast<const unsigned char*>(head.data()), head.size());
}

}  // namespace

Outcome check_round_trip(const ContainerSubject& s) {
  std::vector<SyntheticTensor> tensors{f32_tensor("conformance.matrix", {3, 32}),
                                       f32_tensor("conformance.vector", {7})};
  for (const auto& t : tensors)
    if (std::string why = refusal(s, t); !why.empty())
      return fail(fmt::format("the writer refuses an f32 tensor {}: {}", shape_to_string(t.info.shape), why));
  std::string held = "f32", refused;
  for (const char* name : kBundledEncodings) {
    const CodecDescriptor* codec = s.catalog.find(name);
    if (codec == nullptr) continue;
    auto tensor = encoded_tensor(*codec);
    if (!tensor) continue;
    if (refusal(s, *tensor).empty()) {
      held += fmt::format(", {}", name);
      tensors.push_back(std::move(*tensor));
    } else {
      refused += fmt::format("{}{}", refused.empty() ? "" : ", ", name);
    }
  }
  const Metadata metadata = synthetic_metadata();
  if (Status written = write_file(s, metadata, tensors); !written.ok())
    return fail("writing the test file: " + written.message());

  std::unique_ptr<Reader> reader;
  try {
    auto opened = s.container.open_reader(s.written_model(), s.catalog);
    if (!opened.ok()) return fail("reading back the file its writer wrote: " + opened.status().message());
    reader = core::guard_reader(s.container, std::move(opened).value());
  } catch (...) {
    return fail("open_reader threw an exception (" + core::current_exception_text() + ")");
  }
  if (std::string difference = compare(*reader, metadata, tensors); !difference.empty()) return fail(difference);
  if (probe_file(s) <= 0)
    return fail("probe returns 0 for a file its own writer wrote, so quantflow would not recognize such files");
  return pass(fmt::format("{} tensors ({}) and {} metadata keys read back identical{}", tensors.size(), held,
                          metadata.size(), refused.empty() ? "" : "; the writer does not take " + refused));
}

}  // namespace quantflow::conformance

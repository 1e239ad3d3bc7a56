#include "pipeline/llama/hf_checkpoint/checkpoint_reader.hpp"

#include <cstring>
#include <map>

#include <fmt/format.h>

#include "pipeline/engine/file_type.hpp"
#include "pipeline/llama/hf_checkpoint/model_keys.hpp"
#include "pipeline/llama/hf_checkpoint/rope_keys.hpp"
#include "pipeline/llama/hf_checkpoint/storage_types.hpp"
#include "pipeline/llama/hf_checkpoint/tokenizer_keys.hpp"

namespace quantflow::pipeline::hf {

namespace {

constexpr const char* kRopeFactorsName = "rope_freqs.weight";
constexpr const char* kFileTypeKey = "general.file_type";

std::vector<std::byte> transpose_elements(std::span<const std::byte> bytes, uint64_t rows, uint64_t cols,
                                          uint64_t element_bytes) {
  std::vector<std::byte> out(bytes.size());
  for (uint64_t r = 0; r < rows; ++r)
    for (uint64_t c = 0; c < cols; ++c)
      std::memcpy(out.data() + (c * rows + r) * element_bytes, bytes.data() + (r * cols + c) * element_bytes,
                  element_bytes);
  return out;
}

// Whether `transform` applies to `info`, and the shape it presents.
Status check_transform(TensorInfo& info, const SourceTransform& transform) {
  const Shape& shape = info.shape;
  switch (transform.kind) {
    case SourceTransform::Kind::none:
      return {};
    case SourceTransform::Kind::interleave_rotary_rows: {
      const uint64_t rows = shape.empty() ? 0 : shape.front();
      const bool rows_are_byte_ranges = shape.size() == 2 ? !info.dtype.whole_tensor : info.dtype.block_elems == 1;
      if (transform.heads == 0 || rows % transform.heads != 0 || (rows / transform.heads) % 2 != 0 ||
          !rows_are_byte_ranges || shape.size() > 2)
        return bad_input(
            fmt::format("cannot interleave the rotary rows of a {} tensor of shape {} over {} heads "
                        "(rows must split into heads of even size)",
                        info.dtype.name, shape_to_string(shape), transform.heads));
      return {};
    }
    case SourceTransform::Kind::transpose:
      if (shape.size() != 2 || info.dtype.block_elems != 1 || info.dtype.whole_tensor)
        return bad_input(fmt::format("cannot transpose a {} tensor of shape {} (2-D plain encodings only)",
                                     info.dtype.name, shape_to_string(shape)));
      info.shape = {shape[1], shape[0]};
      return {};
  }
  return {};
}

std::shared_ptr<const void> own(std::vector<std::byte> bytes, TensorData& out) {
  auto owned = std::make_shared<std::vector<std::byte>>(std::move(bytes));
  out.bytes = std::span<const std::byte>(owned->data(), owned->size());
  return owned;
}

}  // namespace

Result<std::unique_ptr<CheckpointReader>> CheckpointReader::open(Checkpoint checkpoint,
                                                                 std::shared_ptr<const Reader> weights,
                                                                 const CodecCatalog& catalog,
                                                                 const ContainerDescriptor& output) {
  std::unique_ptr<CheckpointReader> reader(new CheckpointReader());
  reader->checkpoint_ = std::move(checkpoint);
  reader->weights_ = std::move(weights);
  reader->output_ = &output;
  const std::string folder = reader->checkpoint_.folder.string();
  if (Status s = reader->map_tensors(catalog); !s.ok()) return std::move(s).with_file(folder);

  TensorFacts facts;
  for (size_t i = 0; i < reader->tensors_.size(); ++i)
    if (reader->origins_[i].weights_index || !reader->origins_[i].experts.empty()) {
      facts.parameters += element_count(reader->tensors_[i].shape);
      if (const size_t experts = reader->origins_[i].experts.size(); experts > 0) {
        facts.expert_count = experts;
        facts.expert_parameters += element_count(reader->tensors_[i].shape) / experts;
      }
    }
  // Without --type every matrix keeps its encoding; the file type says which that is.
  for (const TensorInfo& t : reader->tensors_)
    if (t.shape.size() >= 2) {
      if (const CodecDescriptor* codec = catalog.find(t.dtype.name)) facts.file_type = file_type_id(output, *codec);
      break;
    }
  QF_RETURN_IF_ERROR(add_model_keys(reader->checkpoint_, facts, reader->metadata_));
  QF_RETURN_IF_ERROR(add_tokenizer_keys(reader->checkpoint_, reader->metadata_));
  return reader;
}

Status CheckpointReader::map_tensors(const CodecCatalog& catalog) {
  const CodecDescriptor* f32 = catalog.find("f32");
  if (f32 == nullptr) return unsupported("no loaded codec is f32");
  QF_ASSIGN_OR_RETURN(const auto factors, llama3_rope_factors(checkpoint_));
  if (factors) {
    rope_factors_ = *factors;
    const uint64_t n = rope_factors_.size();
    tensors_.push_back({.name = kRopeFactorsName, .dtype = dtype_of(*f32), .shape = {n}, .n_bytes = n * sizeof(float)});
    origins_.push_back({});
  }
  if (const nlohmann::json* experts = first_present(checkpoint_.hparams, {"num_local_experts"});
      experts != nullptr && experts->is_number_unsigned())
    expert_count_ = experts->get<uint64_t>();
  std::map<std::string, std::string> written;  // GGUF name -> checkpoint name
  const auto& source = weights_->tensors();
  for (size_t i = 0; i < source.size(); ++i) {
    const std::optional<MoeName> moe = parse_moe_name(source[i].name);
    if (moe && moe->expert) {
      QF_RETURN_IF_ERROR(add_expert(i, *moe));
      continue;
    }
    const MappedName mapped =
        moe ? MappedName{.outcome = MappedName::Outcome::renamed, .name = moe->gguf_name, .transform = {}}
            : map_hf_to_gguf(source[i].name, checkpoint_.arch);
    if (mapped.outcome == MappedName::Outcome::dropped) continue;
    if (mapped.outcome == MappedName::Outcome::unmapped)
      return unsupported(
                 fmt::format("no GGUF name for this tensor in llama.cpp's {} layout", checkpoint_.arch.architecture))
          .with_tensor(source[i].name);
    if (const auto [it, fresh] = written.emplace(mapped.name, source[i].name); !fresh)
      return bad_input(fmt::format("'{}' and this tensor would both be written as '{}'", it->second, mapped.name))
          .with_tensor(source[i].name);
    TensorInfo info = source[i];
    info.name = mapped.name;
    if (Status s = check_transform(info, mapped.transform); !s.ok()) return std::move(s).with_tensor(source[i].name);
    Origin origin{.weights_index = i, .transform = mapped.transform};
    // The converter stores these in f32 whatever it reads; widening is exact for plain floats.
    const CodecDescriptor* codec = catalog.find(info.dtype.name);
    if (converter_keeps_f32(info) && info.dtype.name != f32->name && info.dtype.kind == DTypeKind::floating &&
        info.dtype.block_elems == 1 && codec != nullptr && codec->decode != nullptr) {
      origin.widen_from = codec;
      info.dtype = dtype_of(*f32);
      info.n_bytes = element_count(info.shape) * sizeof(float);
    }
    tensors_.push_back(std::move(info));
    origins_.push_back(origin);
  }
  return finish_stacks();
}

Result<TensorData> CheckpointReader::read(size_t index) const {
  const Origin& origin = origins_[index];
  if (!origin.experts.empty()) return read_stack(index);
  const TensorInfo& info = tensors_[index];
  TensorData out;
  if (!origin.weights_index) {
    std::vector<std::byte> bytes(info.n_bytes);
    std::memcpy(bytes.data(), rope_factors_.data(), bytes.size());
    out.owner = own(std::move(bytes), out);
    return out;
  }
  QF_ASSIGN_OR_RETURN(TensorData data, weights_->read(*origin.weights_index));
  if (origin.transform.kind == SourceTransform::Kind::none && origin.widen_from == nullptr) return data;
  const TensorInfo& stored = weights_->tensors()[*origin.weights_index];
  std::vector<std::byte> bytes;
  switch (origin.transform.kind) {
    case SourceTransform::Kind::none:
      break;
    case SourceTransform::Kind::interleave_rotary_rows:
      bytes = interleave_rotary_rows(data.bytes, stored.shape.front(), origin.transform.heads);
      break;
    case SourceTransform::Kind::transpose:
      bytes = transpose_elements(data.bytes, stored.shape[0], stored.shape[1], stored.dtype.block_bytes);
      break;
  }
  if (origin.widen_from != nullptr) {
    const std::span<const std::byte> narrow = bytes.empty() ? data.bytes : std::span<const std::byte>(bytes);
    std::vector<std::byte> wide(info.n_bytes);
    const uint64_t row = row_length(info.shape), rows = row == 0 ? 0 : element_count(info.shape) / row;
    if (rows > 0 && origin.widen_from->decode(narrow.data(), reinterpret_cast<float*>(wide.data()),
                                              static_cast<int64_t>(rows), static_cast<int64_t>(row)) != QF_CODEC_OK)
      return bad_input(fmt::format("cannot decode {} to f32", stored.dtype.name)).with_tensor(stored.name);
    bytes = std::move(wide);
  }
  weights_->release(*origin.weights_index);
  out.owner = own(std::move(bytes), out);
  return out;
}

void CheckpointReader::release(size_t index) const {
  if (const auto& weights_index = origins_[index].weights_index) weights_->release(*weights_index);
}

std::vector<std::string> CheckpointReader::default_fallback(const CodecDescriptor& /*requested*/) const {
  return {"f16"};
}

const CodecDescriptor* CheckpointReader::fixed_encoding(const TensorInfo& tensor, const CodecDescriptor& requested,
                                                        const CodecCatalog& catalog) const {
  const std::string name = fixed_encoding_name(tensor, requested.name);
  return name.empty() ? nullptr : catalog.find(name);
}

bool CheckpointReader::record_main_encoding(Metadata& metadata, const CodecDescriptor& requested) const {
  const auto id = file_type_id(*output_, requested);
  if (!id) return false;
  metadata.assign(kFileTypeKey, MetaValue::make_u32(*id));  // where the converter writes it
  return true;
}

}  // namespace quantflow::pipeline::hf

#include "pipeline/llama/hf_checkpoint/model_keys.hpp"

#include "pipeline/llama/hf_checkpoint/rope_keys.hpp"

#include <cctype>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace quantflow::pipeline::hf {

namespace {

using Keys = std::initializer_list<const char*>;

constexpr Keys kBlockCount = {"n_layers", "num_hidden_layers", "n_layer", "num_layers"};
constexpr Keys kContext = {"max_position_embeddings", "n_ctx",           "n_positions", "max_length",
                           "max_sequence_length",     "model_max_length"};
constexpr Keys kGpt2Context = {"n_ctx",      "max_position_embeddings", "n_positions",
                               "max_length", "max_sequence_length",     "model_max_length"};
constexpr Keys kEmbedding = {"hidden_size", "n_embd", "dim"};
constexpr Keys kFeedForward = {"prefix_dense_intermediate_size", "dense_intermediate_size", "intermediate_size",
                               "n_inner", "hidden_dim"};
constexpr Keys kHeads = {"num_attention_heads", "n_head", "n_heads"};
constexpr Keys kKvHeads = {"num_key_value_heads", "n_kv_heads"};
constexpr Keys kRmsEpsilon = {"rms_norm_eps", "norm_eps"};
constexpr Keys kLayerNormEpsilon = {"layer_norm_eps", "layer_norm_epsilon", "norm_epsilon"};
constexpr Keys kExperts = {"num_local_experts"};
constexpr Keys kExpertsUsed = {"num_experts_per_tok"};
constexpr Keys kHeadDim = {"head_dim"};
constexpr Keys kVocab = {"vocab_size"};

// How one key gets its value.
enum class Value : uint8_t {
  count,            // u32 from the first config key present
  real,             // f32 from the first config key present
  file_type,        // general.file_type, from the tensors
  four_embeddings,  // gpt2's feed-forward width: always 4 * n_embd
  rope_dimension,   // head_dim, else hidden_size / heads
  rope_base,        // rope_theta, also inside rope_parameters / rope_scaling
  rope_scaling,     // the rope.scaling.* keys of §3.3
};

struct KeySpec {
  const char* suffix;  // the key is "<arch>.<suffix>"; unused for file_type
  Value value;
  Keys sources = {};
  bool required = false;  // llama.cpp cannot load the model without it
};

// §3.2, in the order the converter writes them.
const std::vector<KeySpec> kLlamaKeys = {
    {"block_count", Value::count, kBlockCount, true},
    {"context_length", Value::count, kContext},
    {"embedding_length", Value::count, kEmbedding, true},
    {"feed_forward_length", Value::count, kFeedForward},
    {"attention.head_count", Value::count, kHeads, true},
    {"attention.head_count_kv", Value::count, kKvHeads},
    {"rope.freq_base", Value::rope_base},
    {"attention.layer_norm_rms_epsilon", Value::real, kRmsEpsilon, true},
    {"expert_count", Value::count, kExperts},
    {"expert_used_count", Value::count, kExpertsUsed},
    {"attention.key_length", Value::count, kHeadDim},
    {"attention.value_length", Value::count, kHeadDim},
    {"", Value::file_type},
    {"vocab_size", Value::count, kVocab},
    {"rope.dimension_count", Value::rope_dimension},
    {"", Value::rope_scaling},
};
const std::vector<KeySpec> kQwenKeys = {
    {"block_count", Value::count, kBlockCount, true},
    {"context_length", Value::count, kContext},
    {"embedding_length", Value::count, kEmbedding, true},
    {"feed_forward_length", Value::count, kFeedForward},
    {"attention.head_count", Value::count, kHeads, true},
    {"attention.head_count_kv", Value::count, kKvHeads},
    {"rope.freq_base", Value::rope_base},
    {"attention.layer_norm_rms_epsilon", Value::real, kRmsEpsilon, true},
    {"expert_count", Value::count, kExperts},
    {"expert_used_count", Value::count, kExpertsUsed},
    {"attention.key_length", Value::count, kHeadDim},
    {"attention.value_length", Value::count, kHeadDim},
    {"", Value::file_type},
    {"", Value::rope_scaling},
};
const std::vector<KeySpec> kGpt2Keys = {
    {"block_count", Value::count, kBlockCount, true},
    {"context_length", Value::count, kGpt2Context},
    {"embedding_length", Value::count, kEmbedding, true},
    {"feed_forward_length", Value::four_embeddings, kEmbedding},
    {"attention.head_count", Value::count, kHeads, true},
    {"attention.layer_norm_epsilon", Value::real, kLayerNormEpsilon, true},
    {"", Value::file_type},
};

const std::vector<KeySpec>& keys_of(const std::string& architecture) {
  if (architecture == "gpt2") return kGpt2Keys;
  if (architecture == "llama") return kLlamaKeys;
  return kQwenKeys;
}

std::string names_of(Keys keys) {
  std::string out;
  for (const char* k : keys) out += (out.empty() ? "" : ", ") + std::string(k);
  return out;
}

Result<uint32_t> as_count(const nlohmann::json& value, const char* key, const Checkpoint& checkpoint) {
  if (value.is_number_unsigned() && value.get<uint64_t>() <= std::numeric_limits<uint32_t>::max())
    return static_cast<uint32_t>(value.get<uint64_t>());
  if (value.is_number_float() && value.get<double>() >= 0 && value.get<double>() <= 4294967295.0 &&
      std::floor(value.get<double>()) == value.get<double>())
    return static_cast<uint32_t>(value.get<double>());
  return bad_input(fmt::format("'{}' is {}, not a count", key, value.dump())).with_file(checkpoint.file("config.json"));
}

// The key among `keys` that the hyperparameters hold, for messages.
const char* found_key(const nlohmann::json& hp, Keys keys) {
  for (const char* k : keys)
    if (hp.contains(k) && !hp[k].is_null()) return k;
  return "";
}

}  // namespace

Result<uint64_t> rope_dimension(const Checkpoint& checkpoint) {
  const nlohmann::json& hp = checkpoint.hparams;
  if (const nlohmann::json* head_dim = first_present(hp, kHeadDim)) {
    QF_ASSIGN_OR_RETURN(const uint32_t dimension, as_count(*head_dim, "head_dim", checkpoint));
    return uint64_t{dimension};
  }
  const nlohmann::json* hidden = first_present(hp, kEmbedding);
  if (hidden == nullptr)
    return bad_input("no hidden_size for the rope dimension").with_file(checkpoint.file("config.json"));
  QF_ASSIGN_OR_RETURN(const uint32_t width, as_count(*hidden, found_key(hp, kEmbedding), checkpoint));
  return width / checkpoint.arch.heads;
}

namespace {

Status add_architecture_key(const Checkpoint& checkpoint, const TensorFacts& facts, const KeySpec& spec,
                            Metadata& metadata) {
  const nlohmann::json& hp = checkpoint.hparams;
  const std::string& arch = checkpoint.arch.architecture;
  const std::string key = arch + "." + spec.suffix;
  const nlohmann::json* source = first_present(hp, spec.sources);
  if (spec.required && source == nullptr)
    return bad_input(fmt::format("no {} for {}", names_of(spec.sources), key))
        .with_file(checkpoint.file("config.json"));
  switch (spec.value) {
    case Value::count:
      if (source != nullptr) {
        QF_ASSIGN_OR_RETURN(const uint32_t value, as_count(*source, found_key(hp, spec.sources), checkpoint));
        metadata.append(key, MetaValue::make_u32(value));
      }
      break;
    case Value::real:
      if (source != nullptr) {
        if (!source->is_number())
          return bad_input(fmt::format("'{}' is {}, not a number", found_key(hp, spec.sources), source->dump()))
              .with_file(checkpoint.file("config.json"));
        metadata.append(key, MetaValue::make_f32(static_cast<float>(source->get<double>())));
      }
      break;
    case Value::file_type:
      if (facts.file_type) metadata.append("general.file_type", MetaValue::make_u32(*facts.file_type));
      break;
    case Value::four_embeddings: {
      QF_ASSIGN_OR_RETURN(const uint32_t width, as_count(*source, found_key(hp, spec.sources), checkpoint));
      metadata.append(key, MetaValue::make_u32(4 * width));
      break;
    }
    case Value::rope_dimension: {
      QF_ASSIGN_OR_RETURN(const uint64_t dimension, rope_dimension(checkpoint));
      metadata.append(key, MetaValue::make_u32(static_cast<uint32_t>(dimension)));
      break;
    }
    case Value::rope_base:
      if (auto base = rope_base(hp)) metadata.append(key, MetaValue::make_f32(static_cast<float>(*base)));
      break;
    case Value::rope_scaling:
      add_rope_scaling(arch, hp, metadata);
      break;
  }
  return {};
}

}  // namespace

std::string size_label(const TensorFacts& facts) {
  if (facts.expert_count == 0) return size_label(facts.parameters);
  const uint64_t stacked = facts.expert_parameters * facts.expert_count;
  return fmt::format("{}x{}", facts.expert_count, size_label(facts.parameters - stacked + facts.expert_parameters));
}

std::string size_label(uint64_t parameters) {
  struct Scale {
    double above;
    double unit;
    const char* suffix;
  };
  constexpr Scale kScales[] = {{1e12, 1e12, "T"}, {1e9, 1e9, "B"}, {1e6, 1e6, "M"}, {-1, 1e3, "K"}};
  const double count = static_cast<double>(parameters);
  for (const Scale& s : kScales) {
    if (count <= s.above) continue;
    const double scaled = count / s.unit;
    // Two significant digits at least: 513K, 1.5B, 8.0B, 0.50K (ties round to even, as Python's round()).
    const std::string integral = fmt::format("{}", static_cast<uint64_t>(std::nearbyint(scaled)));
    const size_t digits = integral == "0" ? 0 : integral.size();
    const int decimals = digits >= 2 ? 0 : static_cast<int>(2 - digits);
    return fmt::format("{:.{}f}{}", scaled, decimals, s.suffix);
  }
  return "";
}

std::string title_from_folder_name(const std::string& name) {
  std::string out;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find_first_of("- ", start);
    if (end == std::string::npos) end = name.size();
    std::string word = name.substr(start, end - start);
    const bool has_upper =
        std::any_of(word.begin(), word.end(), [](char c) { return std::isupper(static_cast<unsigned char>(c)); });
    const bool has_lower =
        std::any_of(word.begin(), word.end(), [](char c) { return std::islower(static_cast<unsigned char>(c)); });
    const bool version =
        !word.empty() && (std::isdigit(static_cast<unsigned char>(word[0])) ||
                          (word[0] == 'v' && word.size() > 1 && std::isdigit(static_cast<unsigned char>(word[1]))));
    // Python's str.title(): a letter after a non-letter is upper case, the others lower case.
    if (has_lower && !has_upper && !version) {
      bool after_letter = false;
      for (char& c : word) {
        const bool letter = std::isalpha(static_cast<unsigned char>(c)) != 0;
        if (letter && !after_letter) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        after_letter = letter;
      }
    }
    if (!word.empty()) out += (out.empty() ? "" : " ") + word;
    start = end + 1;
  }
  return out;
}

Status add_model_keys(const Checkpoint& checkpoint, const TensorFacts& facts, Metadata& metadata) {
  const std::string& arch = checkpoint.arch.architecture;
  metadata.append("general.architecture", MetaValue::make_string(arch));
  metadata.append("general.type", MetaValue::make_string("model"));
  std::filesystem::path folder = std::filesystem::absolute(checkpoint.folder).lexically_normal();
  if (folder.filename().empty()) folder = folder.parent_path();
  metadata.append("general.name", MetaValue::make_string(title_from_folder_name(folder.filename().string())));
  if (facts.parameters > 0) metadata.append("general.size_label", MetaValue::make_string(size_label(facts)));
  for (const KeySpec& spec : keys_of(arch)) QF_RETURN_IF_ERROR(add_architecture_key(checkpoint, facts, spec, metadata));
  metadata.append("general.quantization_version", MetaValue::make_u32(2));  // GGML_QNT_VERSION
  return {};
}

}  // namespace quantflow::pipeline::hf
